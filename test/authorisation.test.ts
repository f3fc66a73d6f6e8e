// Each service's table of who may call what (services/*/rules.ts), in
// process: cluster-state and the standby service on one keyring, called as
// nobody, client.ro, client.admin, a manager, the map feed and a standby
// replica. The same attacks against a whole `npm start` are in security.test.ts.
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { Status } from 'nice-grpc';
import { connect, Peer } from '../lib/client';
import { keyringCredentials } from '../lib/auth/keys';
import { provisionKeyring } from '../lib/auth/provision';
import { ClusterStateServiceDefinition } from '../lib/gen/ceph/mgr/v1/cluster_state';
import { StandbyServiceDefinition } from '../lib/gen/ceph/mgr/v1/standby';
import { startClusterState, ClusterStateHandle } from '../services/cluster-state/server';
import { startStandby, StandbyHandle } from '../services/standby/server';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mgrpc-authz-'));
const keyring = path.join(dir, 'keyring');

describe('authorisation tables', () => {
  let cs: ClusterStateHandle;
  let sb: StandbyHandle;
  const peers: Array<{ close(): void }> = [];
  const csAs = (entity?: string): Peer<typeof ClusterStateServiceDefinition>['client'] => {
    const p = connect(ClusterStateServiceDefinition, cs.address, undefined, entity ? { credentials: keyringCredentials(keyring, entity) } : {});
    peers.push(p);
    return p.client;
  };
  const sbAs = (entity?: string): Peer<typeof StandbyServiceDefinition>['client'] => {
    const p = connect(StandbyServiceDefinition, sb.address, undefined, entity ? { credentials: keyringCredentials(keyring, entity) } : {});
    peers.push(p);
    return p.client;
  };
  const denied = (re: RegExp) => ({ code: Status.PERMISSION_DENIED, details: expect.stringMatching(re) });
  const map = { name: 'osd_map', epoch: 5, json: Buffer.from('{"epoch":5,"osds":[],"pools":[]}') };
  const beacon = (name: string) => ({
    name,
    gid: 7,
    addrs: { daemonServer: '127.0.0.1:1', moduleHost: '' },
    available: true,
    availableModules: [],
    services: {},
    metadata: {},
  });

  beforeAll(async () => {
    provisionKeyring(keyring, ['x', 'y']);
    cs = await startClusterState({ dataDir: path.join(dir, 'cs'), metricsPort: -1, logLevel: 'error', keyringPath: keyring });
    sb = await startStandby({ dataDir: path.join(dir, 'sb'), metricsPort: -1, logLevel: 'error', keyringPath: keyring, clusterStateAddr: cs.address });
  }, 30000);

  afterAll(async () => {
    for (const p of peers) p.close();
    await sb?.stop();
    await cs?.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('every RPC has a rule: a manager (allow *) is never told that no rule allows a method', async () => {
    const raw = async (addr: string, def: { fullName: string; methods: Record<string, { name: string; requestStream: boolean; responseStream: boolean }> }) => {
      const refused: string[] = [];
      for (const m of Object.values(def.methods)) {
        if (m.requestStream || m.responseStream) continue; // the streams: Watch and WatchMgrMap are called in the tests below and elsewhere
        const p = connect(
          {
            [m.name]: { ...m, path: `/${def.fullName}/${m.name}`, requestSerialize: () => Buffer.alloc(0), responseDeserialize: (b: Buffer) => b, options: {} },
          } as never,
          addr,
          undefined,
          {
            credentials: keyringCredentials(keyring, 'mgr.x'),
          },
        );
        peers.push(p);
        try {
          await (p.client as Record<string, (r: unknown) => Promise<unknown>>)[m.name]({});
        } catch (e) {
          if ((e as { code?: number }).code === Status.PERMISSION_DENIED && /no rule allows/.test(String((e as Error).message))) refused.push(m.name);
        }
      }
      return refused;
    };
    expect(await raw(cs.address, ClusterStateServiceDefinition as never)).toEqual([]);
    expect(await raw(sb.address, StandbyServiceDefinition as never)).toEqual([]);
  });

  it('cluster-state: reads need r, writes w, the store only managers', async () => {
    await expect(csAs().putMap(map)).rejects.toMatchObject({ code: Status.UNAUTHENTICATED });
    await expect(csAs('client.ro').putMap(map)).rejects.toMatchObject(denied(/client\.ro may not call PutMap: needs mgr caps 'allow service cluster-state w'/));
    await csAs('client.mgrpc-feed').putMap(map);
    expect((await csAs('client.ro').get({ what: 'osd_map' })).epoch).toBe(5);
    await csAs('mgr.x').setStore({ key: 'mgr/dashboard/jwt_secret', value: 's3cret' });
    await expect(csAs('client.ro').setStore({ key: 'mgr/restful/keys/evil', value: 'x' })).rejects.toMatchObject(denied(/SetStore/));
    for (const who of ['client.ro', 'client.admin', 'client.mgrpc-standby']) {
      await expect(csAs(who).getStore({ key: 'mgr/dashboard/jwt_secret' })).rejects.toMatchObject(
        denied(/only managers \(mgr\.<name>\) and entities with mgr caps 'allow service store r'/),
      );
      await expect(csAs(who).listStore({ prefix: '' })).rejects.toMatchObject(denied(/only managers/));
    }
    expect((await csAs('mgr.y').getStore({ key: 'mgr/dashboard/jwt_secret' })).value).toBe('s3cret');
    // the feed mirrors the store with the monitors' copy (allow service store rw)
    expect((await csAs('client.mgrpc-feed').listStore({ prefix: 'mgr/' })).entries).toMatchObject({ 'mgr/dashboard/jwt_secret': 's3cret' });
  });

  it('standby: a manager beacons only as itself; failing managers and changing modules need w on mgr', async () => {
    await expect(sbAs().beacon(beacon('evil'))).rejects.toMatchObject({ code: Status.UNAUTHENTICATED });
    await expect(sbAs('client.admin').beacon(beacon('evil'))).rejects.toMatchObject(denied(/only as itself: 'evil' needs mgr\.evil's key/));
    await expect(sbAs('mgr.y').beacon(beacon('x'))).rejects.toMatchObject(denied(/needs mgr\.x's key/));
    await expect(sbAs('mgr.x').beacon(beacon('x'))).resolves.toMatchObject({ mgrMap: expect.objectContaining({ activeName: 'x' }) });
    expect((await sbAs('client.ro').getMgrMap({})).mgrMap?.activeName).toBe('x');
    await expect(sbAs('client.ro').failMgr({ who: 'x' })).rejects.toMatchObject(
      denied(/client\.ro may not call FailMgr: needs mgr caps 'allow service mgr w'/),
    );
    await expect(sbAs('client.mgrpc-feed').enableModule({ module: 'restful', force: true })).rejects.toMatchObject(denied(/allow service mgr w/));
    await expect(sbAs('mgr.y').resign({ name: 'x', gid: 7, reason: 'forged' })).rejects.toMatchObject(denied(/needs mgr\.x's key/));
    // a standby replica passes calls on (it checked the caller itself)
    await expect(sbAs('client.mgrpc-standby').getMgrMap({})).resolves.toBeDefined();
    const failed = await sbAs('client.admin').failMgr({ who: 'x' });
    expect(failed.mgrMap?.activeName).toBe('');
  });
});
