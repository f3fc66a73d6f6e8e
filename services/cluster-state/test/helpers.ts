// Shared test set-up: a real cluster-state server on 127.0.0.1:0 with a fresh
// data directory, and a client for it.
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { ServerError, Status } from 'nice-grpc';
import { openChannel, makeClient } from '../../../lib/client';
import { ClusterStateServiceDefinition } from '../../../lib/gen/ceph/mgr/v1/cluster_state';
import { startClusterState, ClusterStateOptions, ClusterStateHandle } from '../server';

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
  const channel = openChannel(handle.address);
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
