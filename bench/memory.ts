// Memory: resident memory (VmRSS, /proc) of each service idle (started, no
// daemon connected) and at 10,000 OSDs (at the end of the ingest window, the
// fake daemons reporting), plus the peak (VmHWM). Shares the ingest run of
// that size when both run in one process. Reference: an idle Ceph Pacific
// manager is about 330 MB resident on this kind of machine; Ceph managers are
// known to be OOM-killed at about 2 GiB on large clusters. What the transport
// itself costs a session: a bare grpc-js server (bench/baseline-server.ts)
// holding as many client streams open, each after one message the size of a
// daemon's open, measured in the same run.
import * as grpc from '@grpc/grpc-js';
import { BaselineClient } from './baseline-server';
import { BenchResult, Figure, SMOKE, rssBytes, startNode } from './harness';
import { SERVICES, ingestRun } from './ingest';
import { MB } from './stack';

export const CEPH_PACIFIC_IDLE_MB = 330;

/** All three services at 10,000 OSDs / 100,000 PGs (issue 16's goal). */
const GOAL_MB = 600;

/** A daemon's open message is about this size (its metadata). */
const OPEN_BYTES = 1200;

/**
 * RSS of a bare grpc-js server idle and holding `streams` open client streams
 * (one message each, one channel as the load generator uses); with
 * `niceGrpc`, of the same handlers on a nice-grpc server (the framework's
 * own cost per stream).
 */
export async function bareStreamsRss(streams: number, niceGrpc = false): Promise<{ idle: number; loaded: number }> {
  const base = startNode('bench/baseline-server.ts', niceGrpc ? ['--nice-grpc'] : []);
  try {
    const [, addr] = await base.waitForLine(/baseline listening on (\S+)/);
    const pid = base.proc.pid!;
    await new Promise((r) => setTimeout(r, SMOKE ? 100 : 1000));
    const idle = rssBytes(pid);
    const client = new BaselineClient(addr, grpc.credentials.createInsecure()) as unknown as {
      Sink(cb: (e: Error | null) => void): grpc.ClientWritableStream<Buffer>;
      close(): void;
    };
    const open = Buffer.alloc(OPEN_BYTES, 0x61);
    const calls: grpc.ClientWritableStream<Buffer>[] = [];
    for (let i = 0; i < streams; i++) {
      calls.push(client.Sink(() => undefined));
      calls[i].write(open);
      if ((i & 255) === 255) await new Promise((r) => setImmediate(r));
    }
    // every stream arrived and was read: the server's RSS stops growing
    let loaded = rssBytes(pid);
    for (let stable = 0, i = 0; stable < 3 && i < (SMOKE ? 10 : 60); i++) {
      await new Promise((r) => setTimeout(r, SMOKE ? 100 : 1000));
      const now = rssBytes(pid);
      stable = Math.abs(now - loaded) < MB ? stable + 1 : 0;
      loaded = now;
    }
    for (const c of calls) c.end();
    client.close();
    return { idle, loaded };
  } finally {
    await base.kill();
  }
}

export async function runMemory(osds = SMOKE ? 20 : 10000): Promise<BenchResult> {
  const r = await ingestRun(osds);
  const bare = await bareStreamsRss(osds);
  const nice = await bareStreamsRss(osds, true);
  const figures: Figure[] = [];
  const sum = (rec: Record<string, number>) => SERVICES.reduce((a, s) => a + rec[s], 0) / MB;
  const ref = { baseline: CEPH_PACIFIC_IDLE_MB, baselineName: 'idle Ceph Pacific manager', reference: true };
  for (const s of SERVICES) figures.push({ name: `memory_idle_${s.replace('-', '_')}`, value: r.rssIdle[s] / MB, unit: 'MB' });
  figures.push({ name: 'memory_idle_total', value: sum(r.rssIdle), unit: 'MB', ...ref, note: 'the three services of one manager' });
  for (const s of SERVICES) {
    figures.push({
      name: `memory_${osds}_osds_${s.replace('-', '_')}`,
      value: r.rssLoaded[s] / MB,
      unit: 'MB',
      baseline: r.rssIdle[s] / MB,
      baselineName: 'same service idle',
      note: `peak ${(r.rssPeak[s] / MB).toFixed(0)} MB`,
    });
    // what that RSS holds: live heap vs V8's reserve and the allocator's high-water mark
    const h = r.heapLoaded[s];
    if (h) {
      const n = `memory_${osds}_osds_${s.replace('-', '_')}`;
      figures.push({ name: `${n}_heap_used`, value: h.heapUsed / MB, unit: 'MB', note: `V8 heap reserved ${(h.heapTotal / MB).toFixed(0)} MB` });
      figures.push({ name: `${n}_external`, value: h.external / MB, unit: 'MB', note: 'Buffers and ArrayBuffers outside the V8 heap' });
    }
  }
  // per OSD session (what was offered; the note says how many were open at the end)
  const streams = osds;
  const perSession = (r.rssLoaded['daemon-server'] - r.rssIdle['daemon-server']) / streams / 1024;
  const barePerStream = (bare.loaded - bare.idle) / streams / 1024;
  figures.push({
    name: `memory_${osds}_osds_daemon_server_per_session`,
    value: perSession,
    unit: 'KB',
    baseline: barePerStream,
    baselineName: `a bare grpc-js server holding ${streams} open streams (${(bare.idle / MB).toFixed(0)} -> ${(bare.loaded / MB).toFixed(0)} MB)`,
    note: `daemon-server above idle, per session; ${r.sessionsAtEnd} sessions open at the end`,
  });
  figures.push({
    name: 'memory_nice_grpc_per_stream',
    value: (nice.loaded - nice.idle) / streams / 1024,
    unit: 'KB',
    baseline: barePerStream,
    baselineName: 'the bare grpc-js server',
    note: `the same streams and handlers on a nice-grpc server without middleware (${(nice.idle / MB).toFixed(0)} -> ${(nice.loaded / MB).toFixed(0)} MB): the framework's share of a session`,
  });
  for (const s of SERVICES) {
    figures.push({
      name: `memory_${osds}_osds_${s.replace('-', '_')}_change_in_window`,
      value: (r.rssLoaded[s] - r.rssStart[s]) / MB,
      unit: 'MB',
      note: `RSS change over the ${r.windowSeconds.toFixed(0)} s ingest window (still filling after connect; GC makes it noisy)`,
    });
  }
  const loadNote =
    r.reportsPerSec >= 0.95 * r.offeredPerSec ? 'load sustained' : `only ${r.reportsPerSec.toFixed(0)} of ${r.offeredPerSec} reports/s reached cluster-state`;
  figures.push({
    name: `memory_${osds}_osds_total`,
    value: sum(r.rssLoaded),
    unit: 'MB',
    ...ref,
    note: `peak ${sum(r.rssPeak).toFixed(0)} MB; ${r.pgs} PGs; ${r.sessionsAtEnd} sessions; ${loadNote}`,
  });
  figures.push({
    name: `memory_${osds}_osds_total_vs_goal`,
    value: sum(r.rssLoaded),
    unit: 'MB',
    baseline: GOAL_MB,
    baselineName: 'the goal for 10,000 OSDs / 100,000 PGs',
  });
  return {
    bench: 'memory',
    figures,
    params: {
      osds,
      pgs: r.pgs,
      rssIdle: r.rssIdle,
      rssLoaded: r.rssLoaded,
      rssPeak: r.rssPeak,
      bareStreams: { streams, ...bare },
      niceGrpcStreams: { streams, ...nice },
    },
  };
}
