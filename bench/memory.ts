// Memory: resident memory (VmRSS, /proc) of each service idle (started, no
// daemon connected) and at 10,000 OSDs (at the end of the ingest window, the
// fake daemons reporting), plus the peak (VmHWM). Shares the ingest run of
// that size when both run in one process. Reference: an idle Ceph Pacific
// manager is about 330 MB resident on this kind of machine; Ceph managers are
// known to be OOM-killed at about 2 GiB on large clusters.
import { BenchResult, Figure, SMOKE } from './harness';
import { SERVICES, ingestRun } from './ingest';
import { MB } from './stack';

export const CEPH_PACIFIC_IDLE_MB = 330;

/** All three services at 10,000 OSDs / 100,000 PGs (issue 16's goal). */
const GOAL_MB = 600;

export async function runMemory(osds = SMOKE ? 20 : 10000): Promise<BenchResult> {
  const r = await ingestRun(osds);
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
  }
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
  return { bench: 'memory', figures, params: { osds, pgs: r.pgs, rssIdle: r.rssIdle, rssLoaded: r.rssLoaded, rssPeak: r.rssPeak } };
}
