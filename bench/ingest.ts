// Ingest: the simulator's fake daemons (bench/load.ts runs sim/daemons.ts and sim/feed.ts: one MgrClient session
// per OSD, ~300 counters each plus pg stats, reports spread over Ceph's 5 s
// period) against a real daemon-server + cluster-state (+ module-host, which
// follows cluster-state's Watch as it does in production), each a child
// process so that CPU and memory are read per service from /proc.
//
// "Absorbed" is counted where it lands: cluster-state's ListDaemons is polled
// every half period and every change of a daemon's last_report is one report
// applied there (a daemon reports once a period, so no change is missed).
//
// Baseline: a bare grpc-js client stream (bench/baseline-server.ts, Sink)
// carrying the very bytes the daemons send, captured from real MgrClient
// sessions: the transport's own cost and capacity on this machine, same run.
import * as grpc from '@grpc/grpc-js';
import * as os from 'os';
import { createServer } from 'nice-grpc';
import type { SessionResponse } from '../lib/gen/ceph/mgr/v1/daemon_server';
import { DaemonServerServed, decodeSessionFrame } from '../lib/session-wire';
import { AsyncQueue } from '../lib/async-queue';
import { createLogger } from '../lib/log';
import { SAMPLES_KEPT } from '../lib/counter-values';
import { SimCluster } from '../sim/cluster';
import { FakeDaemons } from '../sim/daemons';
import { BaselineClient } from './baseline-server';
import { ingestSteps } from './ingest-steps.profile';
import { BenchResult, Figure, LoopStats, MEASURE_MS, SMOKE, WARMUP_MS, cpuSeconds, heapSnapshots, startNode, timedLoop } from './harness';
import { ProcSample, sampleProcs, scrape, startStack, until } from './stack';
import { windowEnded, windowStarted } from './window-profile';

/** Ceph's mgr_stats_period default. */
export const PERIOD_S = SMOKE ? 0.5 : 5;
/** Placement groups per OSD in the simulated cluster (each OSD is primary of about this many). */
export const PGS_PER_OSD = Number(process.env.BENCH_PGS_PER_OSD ?? 10);
export const SERVICES = ['cluster-state', 'daemon-server', 'module-host'] as const;
/** Sessions per load-generator process: the simulator's replayed sessions (sim/replay.ts) let one process drive 10,000. */
export const SESSIONS_PER_SHARD = Number(process.env.BENCH_SESSIONS_PER_SHARD ?? 10000);

export interface IngestRun {
  osds: number;
  pgs: number;
  offeredPerSec: number;
  reportsPerSec: number;
  pgStatsPerSec: number;
  windowSeconds: number;
  connectSeconds: number;
  /** Sessions open at daemon-server when the measurement started, and at its end. */
  sessionsAtStart: number;
  sessionsAtEnd: number;
  /** CPU seconds per 1,000 absorbed reports, per process (services and the simulator). */
  cpuPer1000: Record<string, number>;
  /** The same above the service's idle CPU (what one more report costs). */
  marginalPer1000: Record<string, number>;
  /** Cores used idle, per service. */
  idleCores: Record<string, number>;
  /** Cores used during the window, per process. */
  cores: Record<string, number>;
  rssIdle: Record<string, number>;
  rssLoaded: Record<string, number>;
  /** RSS at the start of the window (growth = rssLoaded - rssStart over windowSeconds). */
  rssStart: Record<string, number>;
  /** Peak resident memory up to the end of the window. */
  rssPeak: Record<string, number>;
  /**
   * What RSS holds at the end of the window, per service (process.memoryUsage()
   * through its metrics): V8's heap used and reserved, and memory outside it
   * (Buffers, ArrayBuffers).
   */
  heapLoaded: Record<string, HeapUse>;
  /**
   * V8's full (mark-compact) collections in the window, per service: a churn
   * of Buffers outside the heap once had daemon-server collect in full every
   * second (bench/results/SUMMARY.md).
   */
  fullGcs: Record<string, number>;
  /** Get osd_map after the load stopped. */
  getOsdMap: LoopStats;
  osdMapBytes: number;
  skipped: number;
}

export interface HeapUse {
  heapUsed: number;
  heapTotal: number;
  external: number;
}

/** A service's V8 heap used/total and external memory, from its prom-client default metrics. */
async function heapUse(metricsPort: number): Promise<HeapUse> {
  const m = await scrape(metricsPort);
  return {
    heapUsed: m.get('nodejs_heap_size_used_bytes') ?? NaN,
    heapTotal: m.get('nodejs_heap_size_total_bytes') ?? NaN,
    external: m.get('nodejs_external_memory_bytes') ?? NaN,
  };
}

const runs = new Map<number, Promise<IngestRun>>();

/** One ingest run per size per process: ingest, scale and memory share them. */
export function ingestRun(osds: number): Promise<IngestRun> {
  let r = runs.get(osds);
  if (!r) {
    r = measureIngest(osds);
    runs.set(osds, r);
    r.catch(() => runs.delete(osds));
  }
  return r;
}

async function measureIngest(osds: number): Promise<IngestRun> {
  const pgs = Math.max(89, osds * PGS_PER_OSD);
  const stack = await startStack({ statsPeriod: PERIOD_S });
  let sims: Array<ReturnType<typeof startNode>> = [];
  try {
    // idle: started, nothing connected; its CPU (timers, health, the modules' own loops) is what
    // every report's cost is measured above
    await new Promise((r) => setTimeout(r, SMOKE ? 100 : 1000));
    const idle0 = sampleProcs(stack.services());
    await new Promise((r) => setTimeout(r, SMOKE ? 300 : MEASURE_MS));
    const idle = sampleProcs(stack.services());
    const idleCores: Record<string, number> = {};
    for (const p of stack.services()) idleCores[p.name] = (idle.cpu[p.name] - idle0.cpu[p.name]) / ((idle.t - idle0.t) / 1000);

    const t0 = performance.now();
    // the load generator: bench/load.ts (the simulator's daemons and feed), one process per
    // SESSIONS_PER_SHARD sessions
    const shards = Math.max(1, Math.ceil(osds / SESSIONS_PER_SHARD));
    sims = Array.from({ length: shards }, (_, k) =>
      startNode(
        'bench/load.ts',
        [
          '--cluster-state',
          stack.cs.address,
          '--daemon-server',
          stack.ds.address,
          '--osds',
          String(osds),
          '--pgs',
          String(pgs),
          '--keyring',
          stack.keyringPath,
          '--shard',
          String(k),
          '--shards',
          String(shards),
        ],
        { MGR_LOG_LEVEL: 'warn' },
      ),
    );
    // every session open at daemon-server (its sessions gauge), or as many as came within the bound
    const want = osds + 3; // the OSDs, the MDS, the mon, the rgw daemon
    const sessions = async () => (await scrape(stack.ds.metricsPort)).get('mgr_daemon_server_sessions') ?? 0;
    const connectBound = SMOKE ? 30000 : 150000;
    let connected = 0;
    while (performance.now() - t0 < connectBound) {
      for (const sim of sims) if (sim.proc.exitCode !== null) throw new Error(`the load generator exited with ${sim.proc.exitCode}`);
      connected = await sessions();
      if (connected >= want) break;
      await new Promise((r) => setTimeout(r, 250));
    }
    const connectSeconds = (performance.now() - t0) / 1000;
    const procs = [...stack.services(), ...sims.map((sim, k) => ({ name: `sim${k}`, pid: sim.proc.pid! }))];

    // warm-up: every session declares its schema in its first report (17 KB each: at 10,000 OSDs
    // a burst of 170 MB); measure once that has passed and the JIT is warm. Above 10,000 OSDs,
    // six periods: after three the services were still catching up on the burst's backlog
    // (2,583 reports/s absorbed of 2,000 offered, at 1.01 cores; 2,097/s at 0.78 after six).
    // At 10,000 (the memory figure's size), until every daemon's counter history is full
    // (cluster-state keeps 20 samples, as Ceph does): memory at steady state, not half-filled.
    const periods = osds === 10000 ? SAMPLES_KEPT + 1 : osds > 10000 ? 6 : 1;
    await new Promise((r) => setTimeout(r, Math.max(WARMUP_MS, periods * PERIOD_S * 1000 + 500)));

    const windowMs = Math.max(MEASURE_MS, 2 * PERIOD_S * 1000);
    const pollMs = (PERIOD_S * 1000) / 2;
    const last = new Map<string, number>();
    let changes = 0;
    const poll = async (count: boolean) => {
      const { daemons } = await stack.csClient.listDaemons({ type: 'osd' });
      for (const d of daemons) {
        const prev = last.get(d.daemon);
        if (count && prev !== undefined && d.lastReport !== prev) changes++;
        last.set(d.daemon, d.lastReport);
      }
    };
    const pgForwarded = async () => (await scrape(stack.ds.metricsPort)).get('mgr_daemon_server_forwarded_total{kind="pg_stats"}') ?? 0;
    const skippedAt = async () => (await scrape(stack.ds.metricsPort)).get('mgr_daemon_server_reports_coalesced_total') ?? 0;

    // prom-client's default metrics count each service's collections by kind
    const fullGcsAt = async () => {
      const out: Record<string, number> = {};
      for (const p of [stack.cs, stack.ds]) out[p.name] = (await scrape(p.metricsPort)).get('nodejs_gc_duration_seconds_count{kind="major"}') ?? 0; // none yet: no line
      return out;
    };
    const sessionsAtStart = await sessions();
    await poll(false);
    const fullGcs0 = await fullGcsAt();
    const pg0 = await pgForwarded();
    const skipped0 = await skippedAt();
    windowStarted();
    const start: ProcSample = sampleProcs(procs);
    const polls = Math.round(windowMs / pollMs);
    for (let i = 1; i <= polls; i++) {
      const due = start.t + i * pollMs;
      await new Promise((r) => setTimeout(r, Math.max(0, due - performance.now())));
      await poll(true);
    }
    const end: ProcSample = sampleProcs(procs);
    windowEnded();
    const fullGcs1 = await fullGcsAt();
    const pg1 = await pgForwarded();
    const skipped1 = await skippedAt();
    const sessionsAtEnd = await sessions();
    const heapLoaded: Record<string, HeapUse> = {};
    for (const p of [stack.cs, stack.ds, ...(stack.mh ? [stack.mh] : [])]) heapLoaded[p.name] = await heapUse(p.metricsPort);
    // BENCH_HEAP_SNAPSHOT: what holds each service's memory at this size, the load still running
    for (const f of await heapSnapshots(stack.services())) console.log(`heap snapshot: ${f}`);
    const seconds = (end.t - start.t) / 1000;
    const reportsPerSec = changes / seconds;
    const cpuPer1000: Record<string, number> = {};
    const marginalPer1000: Record<string, number> = {};
    const cores: Record<string, number> = {};
    for (const p of procs) {
      const used = end.cpu[p.name] - start.cpu[p.name];
      cores[p.name] = used / seconds;
      cpuPer1000[p.name] = changes ? used / (changes / 1000) : NaN;
      marginalPer1000[p.name] = changes ? (used - (idleCores[p.name] ?? 0) * seconds) / (changes / 1000) : NaN;
    }
    // the generator's shards as one
    const simNames = sims.map((_, k) => `sim${k}`);
    const simUsed = simNames.reduce((a, n) => a + end.cpu[n] - start.cpu[n], 0);
    cores.sim = simUsed / seconds;
    cpuPer1000.sim = marginalPer1000.sim = changes ? simUsed / (changes / 1000) : NaN;

    // the load stops; then the query side at this size
    await Promise.all(sims.map((sim) => sim.kill()));
    sims = [];
    const map = await stack.csClient.get({ what: 'osd_map' });
    const getOsdMap = await timedLoop(() => stack.csClient.get({ what: 'osd_map' }));
    return {
      osds,
      pgs,
      offeredPerSec: osds / PERIOD_S,
      reportsPerSec,
      pgStatsPerSec: (pg1 - pg0) / seconds,
      windowSeconds: seconds,
      connectSeconds,
      sessionsAtStart,
      sessionsAtEnd,
      cpuPer1000,
      marginalPer1000,
      idleCores,
      cores,
      rssIdle: idle.rss,
      rssLoaded: end.rss,
      rssStart: start.rss,
      rssPeak: end.hwm,
      heapLoaded,
      fullGcs: Object.fromEntries(Object.keys(fullGcs1).map((s) => [s, fullGcs1[s] - fullGcs0[s]])),
      getOsdMap,
      osdMapBytes: map.json.length,
      skipped: skipped1 - skipped0,
    };
  } finally {
    await Promise.all(sims.map((sim) => sim.kill()));
    await stack.stop();
  }
}

/** The bytes one OSD sends per period (a report, then its pg stats), captured from real MgrClient sessions. */
export async function captureReportBytes(pgsPerOsd = PGS_PER_OSD, osds = 20): Promise<Buffer[][]> {
  const recorded = new Map<string, Buffer[][]>();
  const server = createServer();
  // the session as bytes: what the daemons sent, exactly
  server.add(
    { ...DaemonServerServed, session: { ...DaemonServerServed.session, requestDeserialize: (b: Uint8Array) => Buffer.from(b) } },
    {
      async *session(requests: AsyncIterable<Buffer>) {
        const out = new AsyncQueue<SessionResponse>();
        let name = '';
        let current: Buffer[] = [];
        void (async () => {
          try {
            for await (const bytes of requests) {
              const m = decodeSessionFrame(bytes).msg;
              if (m?.$case === 'open') {
                name = m.value.daemonName;
                recorded.set(name, []);
                // the server's defaults: period (fast here), threshold 5
                out.push({ msg: { $case: 'configure', value: { statsPeriod: 0.05, statsThreshold: 5 } } });
              } else if (m?.$case === 'report') {
                current = [bytes];
                recorded.get(name)!.push(current);
              } else if (m?.$case === 'pgStats') current.push(bytes);
            }
          } catch {
            /* cut */
          }
          out.end();
        })();
        yield* out;
      },
      async command() {
        throw new Error('not here');
      },
      async getCommandDescriptions() {
        return { commands: [] };
      },
    },
  );
  const port = await server.listen('127.0.0.1:0');
  const cluster = new SimCluster({ osds, pgs: Math.max(89, osds * pgsPerOsd) });
  const daemons = new FakeDaemons({ cluster, address: `127.0.0.1:${port}`, others: false, logger: createLogger({ component: 'bench' }, 'error') }).start();
  try {
    // two steady-state periods per OSD with both messages (a period's pg stats may still be on the way)
    const steady = (r: Buffer[][]) => r.slice(1).filter((p) => p.length >= 2);
    await until('captured reports', async () => [...recorded.values()].length === osds && [...recorded.values()].every((r) => steady(r).length >= 2), 20000);
  } finally {
    await daemons.stop();
    server.forceShutdown();
  }
  // steady state: skip each session's first report (it declares the schema)
  return [...recorded.values()].flatMap((r) =>
    r
      .slice(1)
      .filter((p) => p.length >= 2)
      .slice(0, 2),
  );
}

export interface BareStream {
  reportsPerSec: number;
  cpuPer1000: number;
  bytesPerReport: number;
}

/** The same bytes over a bare grpc-js client stream, as fast as it goes. */
export async function bareStream(reports: Buffer[][], streams = 8): Promise<BareStream> {
  const base = startNode('bench/baseline-server.ts');
  try {
    const [, addr] = await base.waitForLine(/baseline listening on (\S+)/);
    const client = new BaselineClient(addr, grpc.credentials.createInsecure()) as any;
    let sent = 0;
    let running = true;
    const calls: grpc.ClientWritableStream<Buffer>[] = [];
    const done: Promise<void>[] = [];
    for (let s = 0; s < streams; s++) {
      const call: grpc.ClientWritableStream<Buffer> = client.Sink((e: Error | null) => e && running && process.stderr.write(`bare stream: ${e.message}\n`));
      calls.push(call);
      done.push(
        (async () => {
          let i = s;
          while (running) {
            const r = reports[i++ % reports.length];
            let ok = true;
            for (const b of r) ok = call.write(b) && ok;
            sent++;
            if (!ok) await new Promise((res) => call.once('drain', res));
            else if ((sent & 63) === 0) await new Promise((res) => setImmediate(res));
          }
        })(),
      );
    }
    await new Promise((r) => setTimeout(r, WARMUP_MS));
    const pid = base.proc.pid!;
    const c0 = cpuSeconds(pid);
    const s0 = sent;
    const t0 = performance.now();
    // at least 1 s: CPU time is counted in 10 ms ticks
    await new Promise((r) => setTimeout(r, Math.max(MEASURE_MS, 1000)));
    const n = sent - s0;
    const seconds = (performance.now() - t0) / 1000;
    const cpu = cpuSeconds(pid) - c0;
    running = false;
    await Promise.all(done);
    for (const c of calls) c.end();
    client.close();
    const bytes = reports.reduce((a, r) => a + r.reduce((x, b) => x + b.length, 0), 0) / reports.length;
    return { reportsPerSec: n / seconds, cpuPer1000: cpu / (n / 1000), bytesPerReport: bytes };
  } finally {
    await base.kill();
  }
}

/**
 * The same bytes at the daemons' pace: `sessions` client streams (1,000 per
 * connection, as the simulator's), each writing one report every period at
 * its own offset, into the bare server. Where bareStream saturates 8 streams
 * (each wake-up of the server reads many reports), this pays what a manager
 * pays: one wake-up, one HTTP/2 frame and one stream's bookkeeping a report.
 */
export async function barePaced(reports: Buffer[][], sessions: number, periodS = PERIOD_S): Promise<BareStream> {
  const base = startNode('bench/baseline-server.ts');
  const clients: any[] = [];
  const calls: grpc.ClientWritableStream<Buffer>[] = [];
  const timers: NodeJS.Timeout[] = [];
  try {
    const [, addr] = await base.waitForLine(/baseline listening on (\S+)/);
    let sent = 0;
    for (let s = 0; s < sessions; s++) {
      if (s % 1000 === 0) clients.push(new BaselineClient(addr, grpc.credentials.createInsecure(), { 'grpc.use_local_subchannel_pool': 1 }));
      const call: grpc.ClientWritableStream<Buffer> = clients[clients.length - 1].Sink(() => undefined);
      calls.push(call);
      const r = reports[s % reports.length];
      const send = () => {
        for (const b of r) call.write(b);
        sent++;
      };
      timers.push(
        setTimeout(
          () => {
            send();
            timers.push(setInterval(send, periodS * 1000));
          },
          ((s * periodS * 1000) / sessions) | 0,
        ),
      );
    }
    await new Promise((r) => setTimeout(r, periodS * 1000 + WARMUP_MS)); // every stream open and sending
    const pid = base.proc.pid!;
    const c0 = cpuSeconds(pid);
    const s0 = sent;
    const t0 = performance.now();
    await new Promise((r) => setTimeout(r, Math.max(MEASURE_MS, 2 * periodS * 1000)));
    const n = sent - s0;
    const seconds = (performance.now() - t0) / 1000;
    const cpu = cpuSeconds(pid) - c0;
    const bytes = reports.reduce((a, r) => a + r.reduce((x, b) => x + b.length, 0), 0) / reports.length;
    return { reportsPerSec: n / seconds, cpuPer1000: cpu / (n / 1000), bytesPerReport: bytes };
  } finally {
    for (const t of timers) clearTimeout(t);
    for (const c of calls) c.end();
    for (const c of clients) c.close();
    await base.kill();
  }
}

let captured: Promise<Buffer[][]> | undefined;
const capturedReports = () => (captured ??= captureReportBytes());
let bareMemo: Promise<BareStream> | undefined;
export function bareStreamBaseline(): Promise<BareStream> {
  bareMemo ??= capturedReports().then((r) => bareStream(r));
  return bareMemo;
}

/** BENCH_INGEST_OSDS=1000,10000 overrides the sizes. */
export function ingestSizes(): number[] {
  if (process.env.BENCH_INGEST_OSDS) return process.env.BENCH_INGEST_OSDS.split(',').map(Number);
  return SMOKE ? [20] : [1000, 10000];
}

export async function runIngest(): Promise<BenchResult> {
  const bare = await bareStreamBaseline();
  const figures: Figure[] = [];
  const params: Record<string, unknown> = { periodSeconds: PERIOD_S, pgsPerOsd: PGS_PER_OSD, bytesPerReport: Math.round(bare.bytesPerReport) };
  const bareName = 'bare grpc-js client stream, same bytes';
  for (const osds of ingestSizes()) {
    const r = await ingestRun(osds);
    const sustained = r.reportsPerSec >= 0.95 * r.offeredPerSec;
    figures.push({
      name: `ingest_${osds}_reports_per_s`,
      value: r.reportsPerSec,
      unit: 'reports/s',
      baseline: r.offeredPerSec,
      baselineName: `offered (${osds}/${PERIOD_S} s)`,
      note: `${sustained ? 'sustained' : 'NOT sustained'}; ${r.sessionsAtEnd} of ${osds + 3} sessions open (${r.connectSeconds.toFixed(1)} s to connect); ${Math.round(r.pgStatsPerSec)} pg-stats/s; load generator ${r.cores.sim.toFixed(2)} cores`,
    });
    params[`run_${osds}`] = r;
    if (r.reportsPerSec < 1) {
      // nothing to divide by: say why instead of printing NaN
      figures.push({
        name: `ingest_${osds}_stalled`,
        value: r.cores.sim,
        unit: 'cores (load generator)',
        note: `no report reached cluster-state in the window; services used ${SERVICES.map((s) => `${s} ${r.cores[s].toFixed(2)}`).join(', ')} cores: the load generator (${Math.ceil(osds / SESSIONS_PER_SHARD)} processes) stalled (see bench/README.md)`,
      });
      continue;
    }
    const servicesCores = SERVICES.reduce((a, s) => a + (r.cores[s] ?? 0), 0);
    figures.push({
      name: `ingest_${osds}_services_cores`,
      value: servicesCores,
      unit: 'cores',
      baseline: 1,
      baselineName: 'one core (the goal at 10,000 OSDs)',
      note: `${SERVICES.map((x) => `${x} ${r.cores[x].toFixed(2)}`).join(', ')}; ${sustained ? 'sustained' : 'NOT sustained'}`,
    });
    const servicesCpu = SERVICES.reduce((a, s) => a + (r.cpuPer1000[s] ?? 0), 0);
    figures.push({
      name: `ingest_${osds}_cpu_per_1000_reports_all_services`,
      value: servicesCpu,
      unit: 's',
      baseline: bare.cpuPer1000,
      baselineName: `${bareName} (server)`,
    });
    const marginal = SERVICES.reduce((a, s) => a + (r.marginalPer1000[s] ?? 0), 0);
    const idleAll = SERVICES.reduce((a, s) => a + (r.idleCores[s] ?? 0), 0);
    figures.push({
      name: `ingest_${osds}_cpu_per_1000_reports_above_idle`,
      value: marginal,
      unit: 's',
      baseline: bare.cpuPer1000,
      baselineName: `${bareName} (server)`,
      note: `idle: ${idleAll.toFixed(3)} cores for the three services`,
    });
    for (const s of [...SERVICES, 'sim']) {
      figures.push({
        name: `ingest_${osds}_cpu_per_1000_reports_${s.replace('-', '_')}`,
        value: r.cpuPer1000[s],
        unit: 's',
        baseline: s === 'sim' ? undefined : bare.cpuPer1000,
        baselineName: `${bareName} (server)`,
        note: `${r.cores[s].toFixed(2)} cores${s === 'sim' ? ' (the load generator)' : ''}${s in r.fullGcs ? `; ${r.fullGcs[s]} full GCs in the ${r.windowSeconds.toFixed(0)} s window` : ''}`,
      });
    }
    // Against the bare server paid as the services are: as many streams, at the same pace.
    const paced = await barePaced(await capturedReports(), osds + 3);
    params[`bare_paced_${osds}`] = paced;
    figures.push({
      name: `ingest_${osds}_cpu_per_1000_reports_above_idle_vs_paced`,
      value: marginal,
      unit: 's',
      baseline: paced.cpuPer1000,
      baselineName: `bare grpc-js server, ${osds + 3} client streams at the daemons' pace, same bytes`,
      note: `the saturated bare stream (above) reads many reports a wake-up; at the daemons' pace each report is one`,
    });
    // What one core of the busiest service would absorb at this (above-idle) cost.
    const busiest = Math.max(...SERVICES.map((s) => r.marginalPer1000[s] ?? 0));
    figures.push({
      name: `ingest_${osds}_capacity_estimate`,
      value: 1000 / busiest,
      unit: 'reports/s',
      baseline: bare.reportsPerSec,
      baselineName: `${bareName} (measured max)`,
      note: '1 core for the busiest service',
    });
  }
  // What 10,000 OSDs at Ceph's period would need, at the cost measured at the largest size
  // that was sustained (an overloaded run's cost per report is inflated by its backlog).
  const sustainedRuns = ingestSizes()
    .map((n) => runs.get(n))
    .filter(Boolean);
  const done = (await Promise.all(sustainedRuns)).filter((r) => r!.reportsPerSec >= 0.95 * r!.offeredPerSec) as IngestRun[];
  if (done.length) {
    const ref = done[done.length - 1];
    const perReport = SERVICES.reduce((a, s) => a + ref.marginalPer1000[s], 0) / 1000;
    const target = 10000 / 5;
    figures.push({
      name: 'ingest_cores_needed_for_10000_osds',
      value: perReport * target,
      unit: 'cores',
      baseline: os.cpus().length,
      baselineName: `this machine's CPUs`,
      note: `services only, at the above-idle cost measured with ${ref.osds} OSDs; the simulator needs ${((ref.cpuPer1000.sim / 1000) * target).toFixed(1)} more`,
    });
  }
  // per-step cost of one report inside the services (same bytes, their codecs and checks)
  const steps = await ingestSteps(await capturedReports());
  const bareUs = bare.cpuPer1000 * 1000;
  for (const [step, us] of Object.entries(steps)) {
    figures.push({ name: `ingest_step_${step}`, value: us, unit: 'us/report', baseline: bareUs, baselineName: 'bare transport server CPU per report' });
  }
  params.stepsMicroseconds = steps;
  figures.push({
    name: 'ingest_bare_stream_max',
    value: bare.reportsPerSec,
    unit: 'reports/s',
    note: `${Math.round(bare.bytesPerReport)} bytes per report + pg stats; server ${bare.cpuPer1000.toFixed(3)} CPU s / 1000`,
  });
  return { bench: 'ingest', figures, params };
}
