// Ingest through the msgr2 front door: sessions speaking msgr2 and cephx
// like OSDs (bench/msgr2-load.ts, our own client side of lib/ceph) report
// to daemon-server in front of a live loopback Pacific cluster, every
// stats period, reports shaped like a captured OSD's (bench/msgr2-shapes.ts).
// The tickets are real: the monitors of the cluster (lib/testing/ceph-cluster.ts,
// one monitor and one OSD) issue one mgr ticket to one entity, and that
// ticket serves every session of a load process. daemon-server is the
// product's own process (services/daemon-server/main.ts with --ceph-conf):
// it beacons to the monitors, is made active by them, and takes the
// sessions (and the real OSD's and monitor's too).
//
// Figures, per size, as CPU seconds per 1,000 reports of each process:
//   msgr2 front door (daemon-server, cluster-state)  vs  a bare msgr2 server
//     (bench/msgr2-bare.ts: the same msgr2 and cephx, no work)
//   gRPC front door (the same daemon-server, Session)  vs  bare grpc-js
//     client streams carrying the same reports' bytes (bench/baseline-server.ts)
// all measured in this run, one after the other, with the same session count
// and period. Not in the smoke test: starting the Ceph cluster takes a minute
// or more.
import * as os from 'os';
import * as readline from 'readline';
import { parseKeyring } from '../lib/keyring';
import { startCephCluster, type CephCluster } from '../lib/testing/ceph-cluster';
import { BenchResult, Child, Figure, MEASURE_MS, SMOKE, WARMUP_MS, startNode } from './harness';
import { sampleProcs, scrape, startStack, type Stack } from './stack';

/** Ceph's mgr_stats_period (whole seconds on msgr2). */
const PERIOD_S = SMOKE ? 1 : 5;
const SESSIONS_PER_SHARD = Number(process.env.BENCH_SESSIONS_PER_SHARD ?? 2500);
/** Ceph's caps for a manager entity (the bare server holds the rotating mgr secrets as one). */
const MANAGER_CAPS = ['mon', 'allow profile mgr', 'osd', 'allow *', 'mds', 'allow *'];

type Mode = 'bare-msgr2' | 'msgr2' | 'bare-grpc' | 'grpc';

interface ModeRun {
  mode: Mode;
  sessions: number;
  connectSeconds: number;
  /** Reports the load generator sent in the window, per second. */
  sentPerSec: number;
  /** Reports the server counted in the window, per second (bare servers: what they received). */
  absorbedPerSec: number;
  /** CPU seconds per 1,000 sent reports, per process. */
  cpuPer1000: Record<string, number>;
  /** Cores used in the window, per process. */
  cores: Record<string, number>;
}

/** BENCH_MSGR2_SESSIONS=1000,5000 overrides the sizes. */
function sizes(): number[] {
  if (process.env.BENCH_MSGR2_SESSIONS) return process.env.BENCH_MSGR2_SESSIONS.split(',').map(Number);
  return SMOKE ? [20] : [1000, 5000];
}

async function entity(cluster: CephCluster, name: string, caps: string[]): Promise<string> {
  const r = await cluster.run(['auth', 'get-or-create', name, ...caps]);
  if (r.code !== 0) throw new Error(`ceph auth get-or-create ${name}: ${r.stderr}`);
  return parseKeyring(r.stdout).get(name)!.key;
}

/** The latest `<what> <n>` a child printed, summed over children. */
class LineCounter {
  private latest = new Map<Child, number>();
  constructor(
    private readonly children: Child[],
    re: RegExp,
  ) {
    for (const c of children)
      readline.createInterface({ input: c.proc.stdout! }).on('line', (l) => {
        const m = re.exec(l);
        if (m) this.latest.set(c, Number(m[1]));
      });
  }
  get total(): number {
    return this.children.reduce((a, c) => a + (this.latest.get(c) ?? 0), 0);
  }
}

const tick = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function runMsgr2(): Promise<BenchResult> {
  const cluster = await startCephCluster({ mons: 1, osds: 1, mds: false });
  let stack: Stack | undefined;
  const children: Child[] = [];
  try {
    const loadKey = await entity(cluster, 'client.msgr2load', ['mon', 'allow r', 'mgr', 'allow profile osd']);
    const bareKey = await entity(cluster, 'mgr.msgr2bare', MANAGER_CAPS);
    const monHost = cluster.mons.map((m) => `v2:${m.v2}`).join(',');
    // mgrpc in front of the cluster: its daemon-server beacons as mgr.x and the monitors make it active
    stack = await startStack({
      moduleHost: false,
      statsPeriod: PERIOD_S,
      extraDaemonServerArgs: ['--name', 'x', '--ceph-conf', cluster.confPath, '--ceph-keyring', cluster.keyringPath, '--msgr2-port', '0'],
    });
    const [, frontDoor] = await stack.ds.child.waitForLine(/msgr2 front door listening","addrs":\["v2:([\d.]+:\d+)\//, 60000);
    for (let i = 0; ; i++) {
      const stat = await cluster.ceph<{ active_name: string; available: boolean }>(['mgr', 'stat']);
      if (stat.active_name === 'x' && stat.available) break;
      if (i > 240) throw new Error(`the monitors did not make mgrpc's mgr.x active: ${JSON.stringify(stat)}`);
      await tick(500);
    }
    const bareMsgr2 = startNode('bench/msgr2-bare.ts', ['--mon-host', monHost, '--entity', 'mgr.msgr2bare', '--key', bareKey, '--period', String(PERIOD_S)]);
    const bareGrpc = startNode('bench/baseline-server.ts');
    children.push(bareMsgr2, bareGrpc);
    const [, bareMsgr2Addr] = await bareMsgr2.waitForLine(/bare msgr2 listening on (\S+)/, 60000);
    const [, bareGrpcAddr] = await bareGrpc.waitForLine(/baseline listening on (\S+)/);
    const st = stack;
    const servers: Record<Mode, Array<{ name: string; pid: number }>> = {
      'bare-msgr2': [{ name: 'bare-msgr2', pid: bareMsgr2.proc.pid! }],
      msgr2: [
        { name: 'daemon-server', pid: st.ds.pid },
        { name: 'cluster-state', pid: st.cs.pid },
      ],
      'bare-grpc': [{ name: 'bare-grpc', pid: bareGrpc.proc.pid! }],
      grpc: [
        { name: 'daemon-server', pid: st.ds.pid },
        { name: 'cluster-state', pid: st.cs.pid },
      ],
    };
    const target: Record<Mode, string[]> = {
      'bare-msgr2': ['--target', bareMsgr2Addr, '--mon-host', monHost, '--entity', 'client.msgr2load', '--key', loadKey],
      msgr2: ['--target', frontDoor, '--mon-host', monHost, '--entity', 'client.msgr2load', '--key', loadKey],
      'bare-grpc': ['--target', bareGrpcAddr],
      grpc: ['--target', st.ds.address, '--grpc-entity', 'client.admin', '--grpc-key', st.adminKey],
    };
    // what the servers count, to check that what was sent was taken
    const bareReceived = new LineCounter([bareMsgr2], /^bare received (\d+)/);
    const absorbedCount = async (mode: Mode): Promise<number> => {
      if (mode === 'bare-msgr2') return bareReceived.total;
      if (mode === 'bare-grpc') return NaN;
      const m = await scrape(st.ds.metricsPort);
      return mode === 'msgr2'
        ? (m.get('mgr_daemon_server_msgr2_messages_total{type="report"}') ?? 0)
        : (m.get('mgr_daemon_server_session_messages_total{kind="report"}') ?? 0);
    };

    let nextId = 1000;
    const measure = async (mode: Mode, sessions: number): Promise<ModeRun> => {
      const shards = Math.max(1, Math.ceil(sessions / SESSIONS_PER_SHARD));
      const t0 = performance.now();
      const per = Math.ceil(sessions / shards);
      const loads = Array.from({ length: shards }, (_, k) => {
        const n = Math.min(per, sessions - k * per);
        const first = nextId;
        nextId += n;
        return startNode('bench/msgr2-load.ts', [
          '--mode',
          mode,
          ...target[mode],
          '--sessions',
          String(n),
          '--first',
          String(first),
          '--period',
          String(PERIOD_S),
        ]);
      });
      process.stdout.write(`(${mode}: ${sessions} sessions in ${shards} load processes)\n`);
      try {
        const sent = new LineCounter(loads, /^load sent (\d+)/);
        try {
          await Promise.all(loads.map((l) => l.waitForLine(/^load connected \d+/, SMOKE ? 60000 : 300000)));
        } catch (e) {
          // what the server said meanwhile tells why
          const server = mode === 'bare-msgr2' ? bareMsgr2 : mode === 'bare-grpc' ? bareGrpc : st.ds.child;
          throw new Error(`${(e as Error).message}\nlast lines of the server:\n${server.tail().slice(-30).join('\n')}`);
        }
        const connectSeconds = (performance.now() - t0) / 1000;
        // one full period: every session has declared its counters, and the JIT is warm
        await tick(Math.max(WARMUP_MS, PERIOD_S * 1000 + 1500));
        const procs = [...servers[mode], ...loads.map((l, k) => ({ name: `load${k}`, pid: l.proc.pid! }))];
        const a0 = await absorbedCount(mode);
        const s0 = sent.total;
        const start = sampleProcs(procs);
        await tick(Math.max(MEASURE_MS, 2 * PERIOD_S * 1000));
        const end = sampleProcs(procs);
        // what was sent in the window is counted once its lines are in: one more second
        await tick(1100);
        const seconds = (end.t - start.t) / 1000;
        const sentN = sent.total - s0;
        const absorbed = (await absorbedCount(mode)) - a0;
        const cpuPer1000: Record<string, number> = {};
        const cores: Record<string, number> = {};
        for (const p of procs) {
          const used = end.cpu[p.name] - start.cpu[p.name];
          cores[p.name] = used / seconds;
          cpuPer1000[p.name] = sentN ? used / (sentN / 1000) : NaN;
        }
        const loadUsed = loads.reduce((a, _, k) => a + end.cpu[`load${k}`] - start.cpu[`load${k}`], 0);
        cores.load = loadUsed / seconds;
        cpuPer1000.load = sentN ? loadUsed / (sentN / 1000) : NaN;
        return { mode, sessions, connectSeconds, sentPerSec: sentN / seconds, absorbedPerSec: absorbed / seconds, cpuPer1000, cores };
      } finally {
        await Promise.all(loads.map((l) => l.kill()));
      }
    };

    const figures: Figure[] = [];
    const params: Record<string, unknown> = { periodSeconds: PERIOD_S, reportBytes: 494, countersDeclared: 37, sessionsPerShard: SESSIONS_PER_SHARD };
    for (const n of sizes()) {
      const runs: Partial<Record<Mode, ModeRun>> = {};
      for (const mode of ['bare-msgr2', 'msgr2', 'bare-grpc', 'grpc'] as Mode[]) runs[mode] = await measure(mode, n);
      params[`runs_${n}`] = runs;
      const [bm, m, bg, g] = [runs['bare-msgr2']!, runs.msgr2!, runs['bare-grpc']!, runs.grpc!];
      const offered = n / PERIOD_S;
      figures.push({
        name: `msgr2_${n}_reports_per_s`,
        value: m.absorbedPerSec,
        unit: 'reports/s',
        baseline: offered,
        baselineName: `offered (${n} sessions / ${PERIOD_S} s)`,
        note: `sent ${m.sentPerSec.toFixed(0)}/s; load generator ${m.cores.load.toFixed(2)} cores`,
      });
      figures.push({
        name: `msgr2_${n}_cpu_per_1000_reports_daemon_server`,
        value: m.cpuPer1000['daemon-server'],
        unit: 's',
        baseline: bm.cpuPer1000['bare-msgr2'],
        baselineName: 'bare msgr2 server (msgr2 + cephx, no work), same reports',
        note: `${m.cores['daemon-server'].toFixed(2)} cores`,
      });
      figures.push({
        name: `msgr2_${n}_cpu_per_1000_reports_cluster_state`,
        value: m.cpuPer1000['cluster-state'],
        unit: 's',
        baseline: bm.cpuPer1000['bare-msgr2'],
        baselineName: 'bare msgr2 server',
        note: `${m.cores['cluster-state'].toFixed(2)} cores`,
      });
      figures.push({
        name: `grpc_${n}_cpu_per_1000_reports_daemon_server`,
        value: g.cpuPer1000['daemon-server'],
        unit: 's',
        baseline: bg.cpuPer1000['bare-grpc'],
        baselineName: 'bare grpc-js client streams, same reports',
        note: `gRPC Session front door, ${g.absorbedPerSec.toFixed(0)} reports/s taken; ${g.cores['daemon-server'].toFixed(2)} cores`,
      });
      figures.push({
        name: `msgr2_${n}_daemon_server_vs_grpc`,
        value: m.cpuPer1000['daemon-server'],
        unit: 's',
        baseline: g.cpuPer1000['daemon-server'],
        baselineName: 'the gRPC front door of the same daemon-server',
      });
      figures.push({
        name: `bare_msgr2_${n}_cpu_per_1000_reports`,
        value: bm.cpuPer1000['bare-msgr2'],
        unit: 's',
        baseline: bg.cpuPer1000['bare-grpc'],
        baselineName: 'bare grpc-js client streams',
        note: 'the two transports alone',
      });
      figures.push({
        name: `msgr2_${n}_connect_s`,
        value: m.connectSeconds,
        unit: 's',
        baseline: bm.connectSeconds,
        baselineName: 'the same sessions to the bare msgr2 server',
        note: 'every session: TCP, banner, cephx authorizer and challenge, idents, MMgrOpen, MMgrConfigure',
      });
    }
    return { bench: 'msgr2', figures, params: { ...params, cpus: os.cpus().length } };
  } finally {
    await Promise.all(children.map((c) => c.kill()));
    await stack?.stop();
    await cluster.stop();
  }
}
