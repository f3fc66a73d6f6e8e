// Shared test set-up: a real cluster-state server on 127.0.0.1:0 with a fresh
// data directory, and a client for it (with `tls`, the server serves it and
// the client presents the same certificate).
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { ServerError, Status } from 'nice-grpc';
import { openChannel, makeClient } from '../../../lib/client';
import { ClusterStateServiceDefinition } from '../../../lib/gen/ceph/mgr/v1/cluster_state';
import { startClusterState, ClusterStateOptions, ClusterStateHandle } from '../server';
import { pgStatsReportFromJson } from '../../../lib/pgstats-json';

export const FIXTURES = path.join(__dirname, '../../../../shared/fixtures/ceph-pacific');

export function fixture<T = any>(name: string): T {
  return JSON.parse(fs.readFileSync(path.join(FIXTURES, name), 'utf8'));
}

export function tempDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'cluster-state-test-'));
}

export async function startTestServer(opts: Partial<ClusterStateOptions> = {}) {
  const dataDir = opts.dataDir ?? tempDir();
  const handle: ClusterStateHandle = await startClusterState({ port: 0, metricsPort: -1, logLevel: 'error', ...opts, dataDir });
  const channel = openChannel(handle.address, opts.tls);
  const client = makeClient(ClusterStateServiceDefinition, channel);
  return {
    handle,
    client,
    dataDir,
    async close() {
      channel.close();
      await handle.stop();
      if (!opts.dataDir) fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

export const json = (v: unknown) => Buffer.from(JSON.stringify(v));
export const parse = (b: Uint8Array) => JSON.parse(Buffer.from(b).toString('utf8'));

/** Runs a call expected to fail; returns its status code and message. */
export async function failure(p: Promise<unknown>): Promise<{ code: Status; message: string }> {
  try {
    await p;
  } catch (e) {
    if (e instanceof ServerError || (e as any)?.code !== undefined) return { code: (e as any).code, message: (e as any).details ?? (e as Error).message };
    throw e;
  }
  throw new Error('the call succeeded but was expected to fail');
}

/**
 * The per-OSD reports the OSDs of the fixture's `pg dump` would have sent
 * for these PGs (each PG reported by its acting primary), at `stamp`.
 */
export function pgReportsFrom(pgStats: any[], stamp: number) {
  const dump = fixture('mgrget-pg_dump.json');
  const byOsd = new Map<number, Record<string, any>>();
  for (const s of dump.osd_stats) byOsd.set(s.osd, {});
  for (const pg of pgStats) {
    const { pgid, ...rest } = pg;
    byOsd.get(pg.acting_primary)![pgid] = rest;
  }
  return [...byOsd.entries()].map(([osd, pg_stat]) => {
    const { osd: _id, ...osd_stat } = dump.osd_stats.find((s: any) => s.osd === osd);
    return { osd, epoch: 27, stamp, report: pgStatsReportFromJson({ pg_stat, osd_stat, pool_stat: {} }) };
  });
}
