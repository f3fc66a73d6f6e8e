// Failover in front of a real Ceph cluster (`npm start --ceph-conf`: the
// monitors decide who is active): seconds from losing the active manager
// until the standby answers `hello` as the active. A private loopback
// Pacific cluster (1 monitor, 1 OSD, Ceph's default mon_mgr_beacon_grace of
// 30 s) and the local set-up's processes (cli/start.ts's localProcesses with
// ceph: cluster-state, ceph-feed, standby on its ceph backend, managers x
// and y).
//   - kill9: kill -9 of the active's daemon-server. The standby service sees
//     its MgrMap watch end and its port refuse, and runs `mgr fail <gid>`
//     (services/standby/presence.ts); the monitors promote the standby.
//   - hung, the baseline measured in the same run: the active's
//     daemon-server stopped (SIGSTOP: its ports still accept, so nothing but
//     the monitors' beacon grace can fail it), which is also what every
//     crash cost before the fast path.
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { makeClient, openChannel } from '../lib/client';
import { DaemonServerServiceDefinition } from '../lib/gen/ceph/mgr/v1/daemon_server';
import { keyringCredentials } from '../lib/auth/keys';
import { cephMissing, startCephCluster, type CephCluster } from '../lib/testing/ceph-cluster';
import { cephProcesses, ProcessSet, randomPortOffset } from '../test/launcher';
import { BenchResult, Figure, SMOKE, percentile } from './harness';
import { until } from './stack';

const TRIALS = Number(process.env.BENCH_CEPH_FAILOVER_TRIALS ?? (SMOKE ? 1 : 3));
const MANAGERS = ['x', 'y'];
type Kind = 'kill9' | 'hung';

export async function runCephFailover(): Promise<BenchResult> {
  const missing = cephMissing();
  if (missing) {
    if (process.env.CI === 'true') throw new Error(`ceph-failover needs a real Ceph cluster: ${missing}`);
    process.stdout.write(`ceph-failover skipped: ${missing}\n`);
    return { bench: 'ceph-failover', figures: [], params: { skipped: missing } };
  }
  const offset = randomPortOffset();
  const port = (p: number) => p + offset;
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'mgrpc-bench-ceph-failover-'));
  const channels: Array<{ close(): void }> = [];
  let cluster: CephCluster | undefined;
  let procs: ProcessSet | undefined;
  try {
    cluster = await startCephCluster({ mons: 1, osds: 1, mds: false });
    const c = cluster;
    const specs = cephProcesses(dataDir, offset, c, MANAGERS);
    procs = new ProcessSet(specs, { MGR_PYTHON_MODULES: 'none' });
    const ps = procs;
    await ps.startAll(180_000);
    const dump = () => c.ceph<{ active_name: string; available: boolean; standbys: Array<{ name: string }> }>(['mgr', 'dump'], { timeoutMs: 20_000 });
    const activeWithStandby = () =>
      until(
        'the monitors to name an available active with a standby',
        async () => {
          const d = await dump();
          return d.available && MANAGERS.includes(d.active_name) && d.standbys.length === 1 && d;
        },
        180_000,
      );
    await activeWithStandby();
    await c.ceph(['mgr', 'module', 'enable', 'hello']);
    const grace = Number((await c.ceph<string | number>(['config', 'get', 'mon', 'mon_mgr_beacon_grace'])) ?? 30);

    // hello straight to a manager's daemon-server, as mgrctl sends it: the moment it answers as the active
    const admin = { credentials: keyringCredentials(path.join(dataDir, 'keyring'), 'client.admin') };
    const daemonServers = Object.fromEntries(
      MANAGERS.map((n, i) => {
        const ch = openChannel(`127.0.0.1:${port(7300 + i)}`);
        channels.push(ch);
        return [n, makeClient(DaemonServerServiceDefinition, ch)];
      }),
    );
    const answersHello = (name: string) =>
      daemonServers[name]
        .command({ prefix: 'hello', args: '{"prefix":"hello"}', inbuf: Buffer.alloc(0) }, { ...admin, deadline: 10_000 })
        .then((r) => r.result?.retcode === 0 && r.result.stdout === 'Hello World')
        .catch(() => false);

    const out: Record<Kind, number[]> = { kill9: [], hung: [] };
    for (const kind of ['kill9', 'hung'] as Kind[]) {
      for (let i = 0; i < TRIALS; i++) {
        const before = await activeWithStandby();
        const [old, next] = [before.active_name, before.standbys[0].name];
        await until(`mgr.${old} to answer hello`, () => answersHello(old), 60_000);
        const t0 = performance.now();
        if (kind === 'kill9') await ps.kill(`daemon-server-${old}`, 'SIGKILL');
        else ps.procs.get(`daemon-server-${old}`)!.kill('SIGSTOP');
        await until(`mgr.${next} to answer hello as the active`, () => answersHello(next), 180_000, 20);
        const s = (performance.now() - t0) / 1000;
        out[kind].push(s);
        process.stderr.write(`ceph-failover ${kind} trial ${i + 1}: mgr.${old} lost; mgr.${next} answers hello as the active after ${s.toFixed(2)} s\n`);
        // back as the standby for the next trial
        await ps.kill(`daemon-server-${old}`, 'SIGKILL');
        ps.start(`daemon-server-${old}`);
      }
    }
    await activeWithStandby();
    const fast = [...out.kill9].sort((a, b) => a - b);
    const slow = [...out.hung].sort((a, b) => a - b);
    const range = (a: number[]) => `${a.length} trials, min ${a[0].toFixed(2)} s, max ${a[a.length - 1].toFixed(2)} s`;
    const figures: Figure[] = [
      {
        name: 'ceph_failover_kill9_median',
        value: percentile(fast, 50),
        unit: 's',
        baseline: percentile(slow, 50),
        baselineName: 'the active hung (SIGSTOP), failed by the monitors’ beacon grace, same run',
        note: range(fast),
      },
      {
        name: 'ceph_failover_hung_median',
        value: percentile(slow, 50),
        unit: 's',
        baseline: grace,
        baselineName: 'mon_mgr_beacon_grace',
        note: range(slow),
      },
    ];
    return { bench: 'ceph-failover', figures, params: { trials: TRIALS, mon_mgr_beacon_grace: grace, ...out } };
  } finally {
    for (const ch of channels) ch.close();
    await procs?.stopAll();
    await cluster?.stop();
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}
