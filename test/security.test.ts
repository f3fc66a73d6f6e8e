// The attacks of issue 18 against `npm start` (Python modules off), each
// now failing for the attacker: an unauthenticated caller, the read-only
// key and client.admin where only managers may go. The data folder is one
// of the previous version (a keyring with client.admin, client.ro, mgr.x and
// mgr.y only): it starts with the services' new entities added, and says so.
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { Metadata, Status } from 'nice-grpc';
import { HealthDefinition } from 'nice-grpc-server-health';
import { connect, Peer } from '../lib/client';
import { keyringCredentials } from '../lib/auth/keys';
import { formatKeyring, newKey, readKeyring } from '../lib/keyring';
import { ClusterStateServiceDefinition } from '../lib/gen/ceph/mgr/v1/cluster_state';
import { StandbyServiceDefinition } from '../lib/gen/ceph/mgr/v1/standby';
import { ModuleHostServiceDefinition } from '../lib/gen/ceph/mgr/v1/module_host';
import { DaemonServerServiceDefinition } from '../lib/gen/ceph/mgr/v1/daemon_server';
import { Launcher, randomPortOffset, startLauncher, stopLauncher, until } from './launcher';

const OFFSET = randomPortOffset();
const at = (p: number) => `127.0.0.1:${p + OFFSET}`;

describe('attacks on npm start', () => {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'mgrpc-security-'));
  const keyring = path.join(dataDir, 'keyring');
  let launcher: Launcher;
  const peers: Array<Peer<never>> = [];
  const as = <D extends Parameters<typeof connect>[0]>(def: D, addr: string, entity?: string): Peer<D> => {
    const p = connect(def, addr, undefined, entity ? { credentials: keyringCredentials(keyring, entity) } : {});
    peers.push(p as never);
    return p;
  };
  const savedPython = process.env.MGR_PYTHON_MODULES;

  beforeAll(async () => {
    // The previous version's keyring: people and managers, no service entities.
    fs.writeFileSync(
      keyring,
      formatKeyring([
        { entity: 'client.admin', key: newKey(), caps: { mgr: 'allow *' } },
        { entity: 'client.ro', key: newKey(), caps: { mgr: 'allow r' } },
        { entity: 'mgr.x', key: newKey(), caps: { mgr: 'allow *' } },
        { entity: 'mgr.y', key: newKey(), caps: { mgr: 'allow *' } },
      ]),
      { mode: 0o600 },
    );
    process.env.MGR_PYTHON_MODULES = 'none';
    launcher = startLauncher(dataDir, OFFSET);
    await launcher.ready;
  }, 180000);

  afterAll(async () => {
    for (const p of peers) p.close();
    await stopLauncher(launcher);
    if (savedPython === undefined) delete process.env.MGR_PYTHON_MODULES;
    else process.env.MGR_PYTHON_MODULES = savedPython;
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it("a previous version's data folder starts with the new credentials made for it, and a line saying so", () => {
    const entities = [...readKeyring(keyring).keys()];
    expect(entities).toEqual(['client.admin', 'client.ro', 'mgr.x', 'mgr.y', 'client.mgrpc-standby', 'client.mgrpc-feed']);
    expect(launcher.lines.some((l) => l.includes('keyring: added client.mgrpc-standby, client.mgrpc-feed'))).toBe(true);
    expect(fs.statSync(keyring).mode & 0o777).toBe(0o600);
  });

  it('an unauthenticated caller reads no secret and changes nothing; health still answers probes', async () => {
    const cs = as(ClusterStateServiceDefinition, at(7100));
    const unauthenticated = { code: Status.UNAUTHENTICATED };
    await expect(cs.client.listStore({ prefix: '' })).rejects.toMatchObject(unauthenticated);
    await expect(cs.client.getStore({ key: 'mgr/dashboard/jwt_secret' })).rejects.toMatchObject(unauthenticated);
    await expect(cs.client.setStore({ key: 'mgr/restful/keys/evil', value: 'x' })).rejects.toMatchObject(unauthenticated);
    await expect(cs.client.putMap({ name: 'osd_map', epoch: 2 ** 53 - 1, json: Buffer.from('{}') })).rejects.toMatchObject(unauthenticated);
    await expect(cs.client.get({ what: 'osd_map' })).rejects.toMatchObject(unauthenticated);
    const sb = as(StandbyServiceDefinition, at(7200));
    await expect(
      sb.client.beacon({ name: 'evil', gid: 1, addrs: { daemonServer: '127.0.0.1:1', moduleHost: '' }, available: true } as never),
    ).rejects.toMatchObject(unauthenticated);
    await expect(sb.client.failMgr({ who: 'x' })).rejects.toMatchObject(unauthenticated);
    await expect(sb.client.enableModule({ module: 'restful', force: true })).rejects.toMatchObject(unauthenticated);
    const mh = as(ModuleHostServiceDefinition, at(7400));
    await expect(
      mh.client.handleCommand({ prefix: 'restful create-key', args: '{"key_name":"evil"}', inbuf: Buffer.alloc(0), entity: 'client.admin', module: '' }),
    ).rejects.toMatchObject(unauthenticated);
    const ds = as(DaemonServerServiceDefinition, at(7300));
    await expect(ds.client.command({ prefix: 'config-key get', args: '{"key":"mgr/dashboard/jwt_secret"}', inbuf: Buffer.alloc(0) })).rejects.toMatchObject(
      unauthenticated,
    );
    // the key sent as the previous version did is no longer taken
    const old = Metadata({ 'x-mgr-entity': 'client.admin', 'x-mgr-key': readKeyring(keyring).get('client.admin')!.key });
    await expect(ds.client.command({ prefix: 'status', args: '{}', inbuf: Buffer.alloc(0) }, { metadata: old })).rejects.toMatchObject(unauthenticated);
    for (const port of [7100, 7200, 7300, 7400]) expect((await as(HealthDefinition, at(port)).client.check({ service: '' })).status).toBe(1);
  });

  it('client.ro reads but writes nothing; only managers read the store, beacon as themselves and reach module-host', async () => {
    const denied = (cap: RegExp) => ({ code: Status.PERMISSION_DENIED, details: expect.stringMatching(cap) });
    const ro = as(ClusterStateServiceDefinition, at(7100), 'client.ro');
    // the simulator's feed (client.mgrpc-feed) puts the maps; client.ro reads them
    const osdMap = await until('the osd map from the feed', async () => (await ro.client.get({ what: 'osd_map' }).catch(() => null))?.json);
    expect(JSON.parse(Buffer.from(osdMap).toString()).epoch).toBeGreaterThan(0);
    await expect(ro.client.putMap({ name: 'osd_map', epoch: 2 ** 53 - 1, json: Buffer.from('{}') })).rejects.toMatchObject(
      denied(/client\.ro may not call PutMap: needs mgr caps 'allow service cluster-state w'/),
    );
    await expect(ro.client.setStore({ key: 'mgr/restful/keys/evil', value: 'x' })).rejects.toMatchObject(denied(/may not call SetStore/));
    const admin = as(ClusterStateServiceDefinition, at(7100), 'client.admin');
    await expect(admin.client.listStore({ prefix: '' })).rejects.toMatchObject(denied(/client\.admin may not call ListStore: only managers/));
    await expect(admin.client.getStore({ key: 'mgr/dashboard/jwt_secret' })).rejects.toMatchObject(denied(/only managers/));
    const mgr = as(ClusterStateServiceDefinition, at(7100), 'mgr.x');
    await mgr.client.listStore({ prefix: '' });

    const sbRo = as(StandbyServiceDefinition, at(7200), 'client.ro');
    expect((await sbRo.client.getMgrMap({})).mgrMap?.activeName).toMatch(/^[xy]$/);
    await expect(sbRo.client.failMgr({ who: 'x' })).rejects.toMatchObject(denied(/client\.ro may not call FailMgr: needs mgr caps 'allow service mgr w'/));
    await expect(sbRo.client.enableModule({ module: 'restful', force: true })).rejects.toMatchObject(denied(/allow service mgr w/));
    const sbAdmin = as(StandbyServiceDefinition, at(7200), 'client.admin');
    const fake = { name: 'evil', gid: 1, addrs: { daemonServer: '127.0.0.1:1', moduleHost: '' }, available: true };
    await expect(sbAdmin.client.beacon(fake as never)).rejects.toMatchObject(denied(/only as itself: 'evil' needs mgr\.evil's key/));
    const sbY = as(StandbyServiceDefinition, at(7200), 'mgr.y');
    await expect(sbY.client.beacon({ ...fake, name: 'x' } as never)).rejects.toMatchObject(denied(/needs mgr\.x's key/));
    expect((await sbRo.client.getMgrMap({})).mgrMap?.standbys.map((s) => s.name)).not.toContain('evil');

    const mhAdmin = as(ModuleHostServiceDefinition, at(7400), 'client.admin');
    await expect(
      mhAdmin.client.handleCommand({ prefix: 'restful create-key', args: '{"key_name":"evil"}', inbuf: Buffer.alloc(0), entity: 'client.admin', module: '' }),
    ).rejects.toMatchObject(denied(/client\.admin may not call HandleCommand: only managers/));
    const forged = Metadata({ 'x-mgr-on-behalf-of': 'mgr.x/restful' });
    const active = (await sbRo.client.getMgrMap({})).mgrMap!.activeName;
    const dsActive = as(DaemonServerServiceDefinition, at(active === 'x' ? 7300 : 7301), 'client.admin');
    await expect(dsActive.client.command({ prefix: 'status', args: '{}', inbuf: Buffer.alloc(0) }, { metadata: forged })).rejects.toMatchObject(
      denied(/client\.admin may not act on behalf of another/),
    );
    // and the real thing still works: mgrctl's path as client.admin
    const ok = await until(
      'status as client.admin',
      async () => (await dsActive.client.command({ prefix: 'status', args: '{}', inbuf: Buffer.alloc(0) })).result,
    );
    expect(ok.retcode).toBe(0);
  }, 60000);
});
