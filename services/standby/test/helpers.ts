// Shared test set-up: real standby servers on 127.0.0.1:0 and clients.
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { ServerError, Status } from 'nice-grpc';
import { openChannel, makeClient } from '../../../lib/client';
import { StandbyServiceDefinition, BeaconRequest, MgrMap } from '../../../lib/gen/ceph/mgr/v1/standby';
import type { ModuleInfo } from '../../../lib/gen/ceph/mgr/v1/common';
import { startStandby, StandbyOptions, StandbyHandle } from '../server';

export function tempDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'standby-test-'));
}

export function mod(name: string, canRun = true, errorString = ''): ModuleInfo {
  return { name, canRun, errorString, moduleOptions: [] };
}

export const MODULES = [mod('hello'), mod('selftest'), mod('status'), mod('iostat'), mod('influx', false, 'influxdb python module not found')];

export function beacon(name: string, gid: number, extra: Partial<BeaconRequest> = {}): BeaconRequest {
  return {
    name,
    gid,
    addrs: { daemonServer: `127.0.0.1:${20000 + gid}`, moduleHost: `127.0.0.1:${30000 + gid}` },
    available: true,
    availableModules: MODULES,
    services: {},
    metadata: { hostname: 'test' },
    ...extra,
  };
}

export type StandbyTestClient = ReturnType<typeof standbyClient>['client'];

export function standbyClient(address: string) {
  const channel = openChannel(address);
  return { channel, client: makeClient(StandbyServiceDefinition, channel) };
}

export async function startTestStandby(opts: Partial<StandbyOptions> = {}) {
  const dataDir = opts.dataDir ?? tempDir();
  const handle: StandbyHandle = await startStandby({ port: 0, metricsPort: -1, logLevel: 'error', ...opts, dataDir });
  const { channel, client } = standbyClient(handle.address);
  return {
    handle,
    client,
    dataDir,
    async close(removeData = !opts.dataDir) {
      channel.close();
      await handle.stop();
      if (removeData) fs.rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

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

/** Reads a watch until a map satisfies `pred` (bounded by `timeoutMs`; fails the test otherwise). */
export async function waitForMap(client: StandbyTestClient, pred: (m: MgrMap) => boolean, timeoutMs = 20000): Promise<MgrMap> {
  const signal = AbortSignal.timeout(timeoutMs);
  try {
    for await (const r of client.watchMgrMap({ afterEpoch: 0 }, { signal })) {
      if (pred(r.mgrMap!)) return r.mgrMap!;
    }
  } catch (e) {
    if (signal.aborted) throw new Error(`no map matched within ${timeoutMs} ms`, { cause: e });
    throw e;
  }
  throw new Error('watch ended');
}

/** Retries `fn` while it fails with UNAVAILABLE (leadership changing), bounded. */
export async function retryUnavailable<T>(fn: () => Promise<T>, timeoutMs = 15000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await fn();
    } catch (e) {
      if ((e as any)?.code !== Status.UNAVAILABLE || Date.now() > end) throw e;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

export async function until(cond: () => boolean | Promise<boolean>, what: string, timeoutMs = 20000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
