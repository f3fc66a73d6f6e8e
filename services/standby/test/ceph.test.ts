// The ceph backend against a monitor in miniature (lib/testing/mini-monitor.ts:
// our msgr2 server keeping a MgrMap by MgrMonitor's first rules): the mirror
// of the monitors' map with each manager's gRPC addresses from its metadata,
// the writes as the monitors' commands with their refusals, and a mirror that
// has lost its monitors answering UNAVAILABLE rather than a stale map. The
// gRPC path and real monitors: test/ceph-managers.live.test.ts.
import { authNoneMonProvider } from '../../../lib/ceph/authnone';
import type { CephTarget } from '../../../lib/ceph/target';
import { mMgrBeacon } from '../../../lib/ceph/messages/mgrmap';
import { MonClient } from '../../../lib/ceph/monclient';
import { EntityType } from '../../../lib/ceph/types';
import type { MgrMap } from '../../../lib/gen/ceph/mgr/v1/standby';
import { newKey } from '../../../lib/keyring';
import { createLogger } from '../../../lib/log';
import { GRPC_ADDR_METADATA } from '../../../lib/mgrmap-ceph';
import { startMiniMonitor, type MiniMonitor } from '../../../lib/testing/mini-monitor';
import { until } from '../../../lib/testing/wait';
import { AuthorityError } from '../domain/authority';
import { BackendUnavailable } from '../backends/backend';
import { CephBackend } from '../backends/ceph';

const logger = createLogger({ test: 'standby-ceph' }, 'error');

describe("the ceph backend: the monitors' MgrMap, mirrored", () => {
  let mon: MiniMonitor;
  let backend: CephBackend;
  const managers: MonClient[] = [];
  const committed: MgrMap[] = [];

  /** A manager's monitor session beaconing once, as mgr.<name> with its gRPC addresses in the metadata. */
  const beaconAs = async (name: string, i: number) => {
    const mc = new MonClient({
      monitors: [{ host: '127.0.0.1', port: mon.port }],
      auth: authNoneMonProvider({ type: EntityType.MGR, id: name }),
      logger,
      subscribe: [],
    });
    managers.push(mc);
    await mc.start();
    const ok = await mc.sendConfirmed(
      mMgrBeacon({
        serverAddrs: [],
        gid: mc.globalId,
        available: false,
        name,
        fsid: mon.fsid,
        commandDescs: [],
        metadata: { hostname: 'h', [GRPC_ADDR_METADATA.daemonServer]: `10.0.0.${i}:7300`, [GRPC_ADDR_METADATA.moduleHost]: `10.0.0.${i}:7400` },
        services: {},
        modules: [{ name: 'hello', canRun: true, errorString: '', moduleOptions: [] }],
        mgrFeatures: 0n,
        clients: [],
      }),
      5000,
    );
    expect(ok).toBe(true);
    return mc.globalId;
  };

  beforeAll(async () => {
    mon = await startMiniMonitor({ logger, graceS: 12 });
    const access: CephTarget = {
      monitors: [{ host: '127.0.0.1', port: mon.port }],
      monHost: `v2:127.0.0.1:${mon.port}`,
      entity: 'client.admin',
      keyringFile: 'keyring',
      keys: new Map([['client.admin', { entity: 'client.admin', key: newKey(), caps: {} }]]),
    };
    backend = new CephBackend({
      access,
      log: logger,
      onCommitted: (m) => committed.push(m),
      commandTimeoutMs: 5000,
      monClient: { auth: authNoneMonProvider({ type: EntityType.CLIENT, id: 'admin' }), backoffMs: 50, maxBackoffMs: 200 },
    });
    backend.start();
    await backend.ready;
  });
  afterAll(async () => {
    for (const m of managers) m.stop();
    await backend.stop();
    await mon.close();
  });

  it('serves each epoch as the monitors number it, with the gRPC addresses from each manager’s metadata', async () => {
    const x = await beaconAs('x', 1);
    const y = await beaconAs('y', 2);
    const m = await until('x active, y standing by', () => {
      const l = backend.feed.latest();
      return l?.activeName === 'x' && l.standbys.length === 1 && l;
    });
    expect(m).toMatchObject({
      epoch: mon.map.epoch,
      activeName: 'x',
      activeGid: Number(x),
      activeAddrs: { daemonServer: '10.0.0.1:7300', moduleHost: '10.0.0.1:7400' },
      standbys: [{ name: 'y', gid: Number(y), addrs: { daemonServer: '10.0.0.2:7300', moduleHost: '10.0.0.2:7400' } }],
      alwaysOnModules: ['status'],
    });
    expect(committed.at(-1)).toEqual(m);
    expect(backend.graceMs()).toBe(12_000);
    expect(backend.status()).toMatchObject({ backend: 'ceph', role: 'follower' });
  });

  it("writes are the monitors' commands; their refusals keep the contract's codes", async () => {
    await expect(backend.external.fail('nosuch')).rejects.toEqual(new AuthorityError('not_found', "Daemon not found 'nosuch', already failed?"));
    await expect(backend.external.beacon({} as never)).rejects.toThrow(/the monitors decide who is active/);
    const gidX = backend.feed.latest()!.activeGid;
    // resign only for the active's own name and gid
    const sent = mon.commands.length;
    await backend.external.resign('x', gidX + 1);
    expect(mon.commands.length).toBe(sent);
    // the answer carries the map with the change: the monitors send it before they answer
    const r = await backend.external.fail('x');
    expect(mon.commands.at(-1)).toEqual({ prefix: 'mgr fail', who: 'x' });
    expect(r.map).toMatchObject({ activeName: 'y', standbys: [] });
    const enable = backend.external.enableModule('hello', true);
    await expect(enable).rejects.toEqual(new AuthorityError('invalid', "command 'mgr module enable' not known here"));
  });

  it('without a monitor session the mirror is not served (it may be stale), and writes are UNAVAILABLE', async () => {
    expect(backend.unavailable()).toBeNull();
    await mon.close();
    await until('the session gone', () => backend.unavailable());
    expect(backend.unavailable()).toMatch(
      /^the standby service has no session with the monitors \(v2:127\.0\.0\.1:\d+\) for \d+ s.*; the monitors' MgrMap cannot be followed; retry$/,
    );
    await expect(backend.external.fail('y')).rejects.toBeInstanceOf(BackendUnavailable);
  });
});
