// Test set-up: a real cluster-state (fed the simulator's maps) and a real
// daemon-server on 127.0.0.1:0, plus a small Session driver.
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import type { ClientError } from 'nice-grpc';
import type { CallProofOptions as CallAs } from '../../../lib/auth/grpc';
import { asCredentials } from '../../../lib/auth/proof';
import { openChannel, makeClient } from '../../../lib/client';
import { ClusterStateServiceDefinition } from '../../../lib/gen/ceph/mgr/v1/cluster_state';
import { DaemonServerServiceDefinition, SessionRequest, SessionResponse } from '../../../lib/gen/ceph/mgr/v1/daemon_server';
import { DaemonServerClientDefinition } from '../../../lib/session-wire';
import { startClusterState } from '../../cluster-state/server';
import { SimCluster } from '../../../sim/cluster';
import { newKey, parseKeyring } from '../../../lib/keyring';
import { MonClient } from '../../../lib/ceph/monclient';
import type { RotatingKeys } from '../../../lib/ceph/cephx/rotating';
import type { EntityAddr } from '../../../lib/ceph/types';
import type { CephManagerSession } from '../domain/ceph-session';
import { startDaemonServer, DaemonServerOptions } from '../server';
import type { ModuleHostHandle } from '../../module-host/server';
import { startStandby } from '../../standby/server';
import { MapFeed } from '../../../sim/feed';
import { SimMonitor, startMonitorEndpoint } from '../../../sim/monitor';
import { createLogger } from '../../../lib/log';
import { until } from '../../../lib/testing/wait';

export const FIXTURES = path.join(__dirname, '../../../../shared/fixtures/ceph-pacific');
export const fixture = (name: string): any => JSON.parse(fs.readFileSync(path.join(FIXTURES, name), 'utf8'));
const json = (v: unknown) => Buffer.from(JSON.stringify(v));

/** The error a call that must fail failed with (the test fails if it answered). */
export async function callError(p: Promise<unknown>): Promise<ClientError> {
  try {
    await p;
  } catch (e) {
    return e as ClientError;
  }
  throw new Error('expected the call to fail');
}

/** How many of `module`'s commands module-host has abandoned (their caller cancelled or timed out). */
export async function abandonedCommands(mh: ModuleHostHandle, module: string): Promise<number> {
  const m = await mh.service.registry.getSingleMetric('mgr_module_commands_abandoned_total')!.get();
  return m.values.find((v) => v.labels.module === module)?.value ?? 0;
}

export async function startStack(opts: Partial<DaemonServerOptions> = {}) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'daemon-server-test-'));
  const cs = await startClusterState({ port: 0, metricsPort: -1, logLevel: 'error', dataDir: path.join(dir, 'cs') });
  const csChannel = openChannel(cs.address);
  const csClient = makeClient(ClusterStateServiceDefinition, csChannel);
  const sim = new SimCluster({ osds: 3, now: () => 1795585000 });
  const osdMap = sim.osdMap();
  await csClient.putMap({ name: 'osd_map', epoch: osdMap.epoch, json: json(osdMap) });
  const fsMap = sim.fsMap();
  await csClient.putMap({ name: 'fs_map', epoch: fsMap.epoch, json: json(fsMap) });
  const monMap = sim.monMap();
  await csClient.putMap({ name: 'mon_map', epoch: monMap.epoch, json: json(monMap) });
  const svc = sim.serviceMap();
  await csClient.putMap({ name: 'service_map', epoch: svc.epoch, json: json(svc) });
  await csClient.putMap({ name: 'osd_metadata', epoch: 1, json: json(sim.osdMetadata()) });
  const keyringPath = path.join(dir, 'keyring');
  const ds = await startDaemonServer({
    port: 0,
    metricsPort: 0,
    logLevel: 'error',
    clusterStateAddr: cs.address,
    keyringPath,
    flushIntervalMs: 30,
    ...opts,
  });
  const keyring = parseKeyring(fs.readFileSync(keyringPath, 'utf8'));
  const channel = openChannel(ds.address);
  const client = makeClient(DaemonServerClientDefinition, channel);
  const creds = (entity = 'client.admin', key = keyring.get(entity)?.key ?? ''): CallAs => ({ credentials: asCredentials({ entity, key }) });
  return {
    dir,
    cs,
    csClient,
    sim,
    ds,
    client,
    keyring,
    keyringPath,
    creds,
    admin: creds(),
    async close() {
      channel.close();
      csChannel.close();
      await ds.stop();
      await cs.stop();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** The fsid of fakeCephSession's cluster. */
export const FAKE_FSID = '11111111-2222-3333-4444-555555555555';

/** What the manager role gives the msgr2 front door, without monitors: rotating secrets made as a monitor makes them. */
export function fakeCephSession(keys: RotatingKeys, announced: EntityAddr[][]): CephManagerSession {
  return {
    name: 'x',
    fsid: FAKE_FSID,
    globalId: 4242n,
    rotatingKeys: keys,
    // never started: the front door only reads its status (the MgrMap epoch)
    monClient: new MonClient({ monitors: [{ host: '127.0.0.1', port: 9 }], entity: 'mgr.x', key: newKey(), logger: createLogger({ test: 'msgr2' }, 'error') }),
    setServerAddrs: (a) => announced.push(a),
  };
}

/** Drives one Session stream by hand: send() requests, next() responses, end(). */
export class SessionDriver {
  private queue: Array<SessionRequest | Uint8Array> = [];
  private wake: (() => void) | null = null;
  private done = false;
  private responses: AsyncIterator<SessionResponse>;
  /** Settles when the stream ends: null when it ended cleanly, else the error. */
  readonly ended: Promise<unknown>;
  private received: SessionResponse[] = [];
  private waiters: Array<() => void> = [];

  constructor(client: { session(req: AsyncIterable<SessionRequest | Uint8Array>, opts: CallAs): AsyncIterable<SessionResponse> }, as: CallAs) {
    // eslint-disable-next-line @typescript-eslint/no-this-alias -- the request generator below is a function*, which has its own this
    const self = this;
    async function* requests(): AsyncGenerator<SessionRequest | Uint8Array> {
      while (true) {
        while (self.queue.length) yield self.queue.shift()!;
        if (self.done) return;
        await new Promise<void>((r) => (self.wake = r));
      }
    }
    const responses = client.session(requests(), as)[Symbol.asyncIterator]();
    this.responses = responses;
    this.ended = (async () => {
      try {
        while (true) {
          const r = await responses.next();
          if (r.done) return null;
          this.received.push(r.value);
          for (const w of this.waiters.splice(0)) w();
        }
      } catch (e) {
        return e;
      } finally {
        for (const w of this.waiters.splice(0)) w();
      }
    })();
  }

  send(msg: SessionRequest['msg']): void {
    this.queue.push({ msg });
    this.wake?.();
  }

  /** Sends a message encoded by hand (e.g. one that does not decode). */
  sendRaw(bytes: Uint8Array): void {
    this.queue.push(bytes);
    this.wake?.();
  }

  end(): void {
    this.done = true;
    this.wake?.();
  }

  /** Waits for the n-th response (1-based) or the end of the stream. */
  async response(n: number): Promise<SessionResponse | undefined> {
    let finished = false;
    void this.ended.then(() => (finished = true));
    while (this.received.length < n && !finished) await new Promise<void>((r) => this.waiters.push(r));
    return this.received[n - 1];
  }
}

/** Polls `fn` until it returns a value that passes `ok` (bounded by count, not by time). */
export async function eventually<T>(fn: () => Promise<T>, ok: (v: T) => boolean, tries = 200): Promise<T> {
  let v = await fn();
  for (let i = 0; i < tries && !ok(v); i++) {
    await new Promise((r) => setTimeout(r, 25));
    v = await fn();
  }
  return v;
}

/**
 * The monitors' commands end to end: a real cluster-state fed by the
 * simulator's map feed (two rounds of pg stats a minute apart on the
 * simulated clock, so rates are not zero), a real standby service (the
 * MgrMap), the simulated monitors' command endpoint and daemon-server in
 * front, active. run() sends a command as client.admin or client.ro.
 */
export async function startMonitorStack() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mgrpc-mon-commands-'));
  const cs = await startClusterState({ port: 0, metricsPort: -1, logLevel: 'error', dataDir: path.join(dir, 'cs') });
  const sb = await startStandby({ port: 0, metricsPort: -1, logLevel: 'error', dataDir: path.join(dir, 'standby'), initialModules: ['hello'] });
  // The simulated clock, two minutes behind the real one at first.
  const clock = { t: Math.floor(Date.now() / 1000) - 120 };
  const sim = new SimCluster({ osds: 3, now: () => clock.t });
  const feed = new MapFeed({ cluster: sim, address: cs.address, pgStatsDirect: true, serviceMap: true, logger: createLogger({ component: 'sim' }, 'warn') });
  await feed.start();
  await feed.pushPgStats();
  clock.t += 60;
  await feed.pushPgStats();
  const keyringPath = path.join(dir, 'keyring');
  // The endpoint reads the keyring daemon-server writes (with mgr.x) when it is first asked.
  const monitor = await startMonitorEndpoint({ monitor: new SimMonitor({ cluster: sim, feed, osdRebootSec: 0 }), port: 0, keyringPath, logLevel: 'error' });
  const ds = await startDaemonServer({
    port: 0,
    metricsPort: -1,
    logLevel: 'error',
    name: 'x',
    clusterStateAddr: cs.address,
    standbyAddr: sb.address,
    monAddr: monitor.address,
    keyringPath,
    beaconIntervalMs: 100,
  });
  await until('daemon-server active', () => ds.isActive());
  const channel = openChannel(ds.address);
  const client = makeClient(DaemonServerServiceDefinition, channel);
  const keyring = parseKeyring(fs.readFileSync(keyringPath, 'utf8'));
  const creds: Record<string, CallAs> = {};
  for (const who of ['client.admin', 'client.ro']) creds[who] = { credentials: asCredentials({ entity: who, key: keyring.get(who)!.key }) };
  const run = async (prefix: string, args: Record<string, unknown> = {}, who = 'client.admin') =>
    (await client.command({ prefix, args: JSON.stringify(args), inbuf: Buffer.alloc(0) }, creds[who])).result!;
  await until('the MgrMap says available', async () => JSON.parse((await run('mgr stat', { format: 'json' })).stdout).available);
  return {
    dir,
    cs,
    sb,
    sim,
    clock,
    feed,
    monitor,
    ds,
    creds,
    run,
    async close() {
      channel.close();
      await ds.stop();
      await monitor.stop();
      await feed.stop();
      await sb.stop();
      await cs.stop();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}
