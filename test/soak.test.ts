// Soak: the local set-up (every service its own process, the simulator's
// daemons reporting every second) while a failure is injected every few
// seconds for a bounded time (SOAK_MS, 90 s by default; SOAK_EVERY_MS
// between failures, 4 s): kill -9 of the active manager, kill -9 of only its
// module-host, `mgr fail`, SIGTERM of its daemon-server, kill -9 of
// cluster-state; whatever is down is started again before the next failure. Meanwhile a client keeps writing
// to a module's store (`restful create-key`). At the end, with nothing
// injected any more: an active with a standby, every OSD's counters flowing
// again, and every store write that was acknowledged still there.
// The failures are drawn from a seeded sequence (printed, SOAK_SEED to
// replay one). After a restart of cluster-state, daemon-server declares its
// sessions again (issue 21, finding 1), so counters flow on.
import { keyringCredentials } from '../lib/auth/keys';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { localProcesses } from '../cli/start';
import { seededRandom } from '../lib/seeded-random';
import { runCaptured } from '../cli/mgrctl';
import { makeClient, openChannel } from '../lib/client';
import { ClusterStateServiceDefinition, DaemonQueryKind } from '../lib/gen/ceph/mgr/v1/cluster_state';
import { StandbyClient } from '../lib/standby-client';
import { ProcessSet, randomPortOffset, until } from './launcher';

const SOAK_MS = Number(process.env.SOAK_MS ?? 90000);
const EVERY_MS = Number(process.env.SOAK_EVERY_MS ?? 4000);
const SEED = Number(process.env.SOAK_SEED ?? Math.floor(Math.random() * 1e9));
const OSDS = 6;

type Failure = 'kill9_active' | 'kill9_active_module_host' | 'mgr_fail' | 'sigterm_active' | 'kill9_cluster_state';
const FAILURES: Failure[] = ['kill9_active', 'kill9_active_module_host', 'mgr_fail', 'sigterm_active', 'kill9_cluster_state'];

describe('soak: failures every few seconds', () => {
  const OFFSET = randomPortOffset();
  const port = (p: number) => p + OFFSET;
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'mgrpc-soak-'));
  const specs = localProcesses({ dataDir, host: '127.0.0.1', osds: OSDS, sim: true, backend: 'embedded', etcd: '', portOffset: OFFSET });
  // Without Ceph's Python modules (twenty Python processes for two managers): the soak is about failures, not modules.
  const procs = new ProcessSet(specs, { MGR_STATS_PERIOD: '1', MGR_PYTHON_MODULES: 'none' });
  const env: NodeJS.ProcessEnv = {
    MGR_STANDBY_ADDR: `127.0.0.1:${port(7200)}`,
    MGR_CLUSTER_STATE_ADDR: `127.0.0.1:${port(7100)}`,
    MGR_KEYRING: path.join(dataDir, 'keyring'),
  };
  const ctl = (...argv: string[]) => runCaptured(argv, env);
  const csChannel = openChannel(`127.0.0.1:${port(7100)}`);
  const admin = keyringCredentials(path.join(dataDir, 'keyring'), 'client.admin');
  const cs = makeClient(ClusterStateServiceDefinition, csChannel, { credentials: admin });
  const sb = new StandbyClient(`127.0.0.1:${port(7200)}`, undefined, admin);
  const MANAGER_PROCS = ['module-host-x', 'daemon-server-x', 'module-host-y', 'daemon-server-y'];
  /** What a failure may take down, restarted as a supervisor would. */
  const RESTARTED = ['cluster-state', ...MANAGER_PROCS];
  const down = (n: string) => {
    const p = procs.procs.get(n);
    return !p || p.exitCode !== null || p.signalCode !== null;
  };

  afterAll(async () => {
    await procs.stopAll();
    csChannel.close();
    sb.close();
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it(
    `ends with every OSD's counters flowing and no acknowledged store write lost`,
    async () => {
      await procs.startAll();
      await until(
        'an active manager with an available standby',
        async () => {
          const { map } = await sb.getMgrMap();
          return map.activeName && map.available && map.standbys.length === 1 && map.standbys[0].available;
        },
        90000,
      );
      process.stdout.write(`soak: seed ${SEED}, ${SOAK_MS} ms, a failure every ${EVERY_MS} ms\n`);
      const random = seededRandom(SEED);

      // The writer: one key at a time through the restful module's store.
      const acked = new Map<string, string>();
      let writing = true;
      let attempts = 0;
      const writer = (async () => {
        while (writing) {
          const name = `soak-${attempts++}`;
          const r = await ctl('restful', 'create-key', name, '--wait-ms', '20000');
          if (r.code === 0 && r.stdout.trim()) acked.set(name, r.stdout.trim());
          await new Promise((res) => setTimeout(res, 300));
        }
      })();

      const injected: string[] = [];
      const end = Date.now() + SOAK_MS;
      while (Date.now() < end) {
        // Whatever an earlier failure took down comes back first.
        for (const n of RESTARTED) if (down(n)) procs.start(n);
        await new Promise((res) => setTimeout(res, EVERY_MS));
        const { map } = await sb.getMgrMap().catch(() => ({ map: null }));
        const active = map?.activeName;
        if (!active) {
          injected.push('(no active manager: nothing injected)');
          continue;
        }
        const f = FAILURES[Math.floor(random() * FAILURES.length)];
        injected.push(`${f} mgr.${active}`);
        if (f === 'kill9_cluster_state') injected[injected.length - 1] = f;
        if (f === 'kill9_active') {
          await Promise.all([procs.kill(`daemon-server-${active}`, 'SIGKILL'), procs.kill(`module-host-${active}`, 'SIGKILL')]);
        } else if (f === 'kill9_active_module_host') {
          await procs.kill(`module-host-${active}`, 'SIGKILL');
        } else if (f === 'sigterm_active') {
          void procs.kill(`daemon-server-${active}`, 'SIGTERM');
        } else if (f === 'kill9_cluster_state') {
          await procs.kill('cluster-state', 'SIGKILL');
        } else {
          await ctl('mgr', 'fail', '--wait-ms', '5000');
        }
      }
      const quietFrom = Date.now() / 1000;
      process.stdout.write(`soak: injected ${injected.length}: ${injected.join(', ')}\n`);
      for (const n of RESTARTED) {
        if (!down(n)) continue;
        // a SIGTERM'd daemon-server may still be on its way out
        await until(`${n} to exit`, () => down(n), 30000).catch(() => undefined);
        procs.start(n);
      }
      writing = false;
      await writer;

      await until(
        'an active manager with an available standby after the failures',
        async () => {
          // As a supervisor would (compose's restart policy, Kubernetes): a manager process
          // that went down after the restarts above (a daemon-server that resigned late) comes back.
          for (const n of RESTARTED) {
            if (!down(n)) continue;
            process.stdout.write(`soak: ${n} is down after the failures; starting it again\n`);
            procs.start(n);
          }
          const { map } = await sb.getMgrMap();
          return map.activeName && map.available && map.standbys.length === 1 && map.standbys[0].available;
        },
        // generous: the test may share two cores with another whole stack
        240000,
      );
      // Every OSD reports again: a counter sample newer than the last failure, for each.
      const fresh = async (osd: number) => {
        const r = await cs.queryDaemons({
          kind: DaemonQueryKind.DAEMON_QUERY_KIND_COUNTER,
          svcType: 'osd',
          svcId: String(osd),
          path: 'osd.op_w',
          hostname: '',
          services: [],
        });
        const samples: Array<[number, number]> = JSON.parse(Buffer.from(r.json).toString('utf8'))?.['osd.op_w'] ?? [];
        return samples.some(([t]) => t > quietFrom);
      };
      let missing: string[] = [];
      await until(
        "every OSD's counters after the failures",
        async () => {
          missing = [];
          for (let i = 0; i < OSDS; i++) if (!(await fresh(i))) missing.push(`osd.${i}`);
          return missing.length === 0;
        },
        120000,
      ).catch(() => undefined);
      expect(missing).toEqual([]);

      // No acknowledged write lost: each key the module said it stored is there, with its value.
      const list = await until(
        'restful list-keys',
        async () => {
          const r = await ctl('restful', 'list-keys', '--wait-ms', '20000');
          return r.code === 0 && (JSON.parse(r.stdout) as Record<string, string>);
        },
        60000,
      );
      process.stdout.write(`soak: ${acked.size} of ${attempts} store writes acknowledged\n`);
      expect(acked.size).toBeGreaterThan(0);
      const lost = [...acked].filter(([name, key]) => list[name] !== key).map(([name]) => name);
      expect(lost).toEqual([]);
    },
    SOAK_MS + 600000,
  );
});
