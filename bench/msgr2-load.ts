// The msgr2 benchmark's load generator: N daemon sessions reporting every
// stats period (from the server's configure, spread over the period), each
// report shaped like the captured OSD's (shared/ceph-wire/vectors pcap 01:
// 37 counters declared in the first report, then 494 bytes of packed
// values, a counter moving each time). Modes:
//   msgr2       our msgr2 client (lib/ceph) as an OSD, to daemon-server's
//               msgr2 front door; one entity's mgr ticket from the live
//               monitors serves every session (each makes its own authorizer
//               and answers its own challenge)
//   bare-msgr2  the same, to bench/msgr2-bare.ts (msgr2 and cephx, no work)
//   grpc        lib/mgr-client.ts MgrClients, to daemon-server's gRPC Session
//   bare-grpc   the same reports' bytes on bare grpc-js client streams
//               (bench/baseline-server.ts, Sink)
// Prints `load connected <n>` once every session is open and `load sent <n>`
// every second (reports sent so far).
//   node --import tsx bench/msgr2-load.ts --mode msgr2 --target 127.0.0.1:6800 --sessions 1000 --first 0
//     [--mon-host v2:127.0.0.1:3300 --entity client.x --key K] [--grpc-entity client.admin --grpc-key K] [--period 5]
import * as grpc from '@grpc/grpc-js';
import { CephxClient } from '../lib/ceph/cephx/client';
import { EntityType } from '../lib/ceph/types';
import { MonClient } from '../lib/ceph/monclient';
import { mMgrReport, type MMgrReport } from '../lib/ceph/messages/mgr';
import { isLongRunAvg, unpackCounters } from '../lib/ceph/messages/perf-counters';
import type { PerfCounterType } from '../lib/gen/ceph/mgr/v1/cluster_state';
import { SessionRequest } from '../lib/gen/ceph/mgr/v1/daemon_server';
import { createLogger } from '../lib/log';
import { MgrClient } from '../lib/mgr-client';
import { MgrDaemonClient } from '../lib/testing/mgr-daemon-client';
import { until } from '../lib/testing/wait';
import { BaselineClient } from './baseline-server';
import { capturedOsdReports } from './msgr2-shapes';

function arg(name: string, fallback?: string): string {
  const i = process.argv.indexOf(`--${name}`);
  if (i >= 0 && i + 1 < process.argv.length) return process.argv[i + 1];
  if (fallback !== undefined) return fallback;
  process.stderr.write(`bench/msgr2-load.ts: --${name} is required\n`);
  process.exit(2);
}

const log = createLogger({ service: 'msgr2-load' }, 'warn');
const mode = arg('mode');
const [host, portText] = [arg('target').slice(0, arg('target').lastIndexOf(':')), arg('target').slice(arg('target').lastIndexOf(':') + 1)];
const sessions = Number(arg('sessions'));
const first = Number(arg('first', '0'));
const { declare, packed } = capturedOsdReports();
let sent = 0;

/** A report's packed values with the first counter moved on, as a live OSD's would. */
function packedAt(n: number): Buffer {
  const b = Buffer.from(packed);
  b.writeBigUInt64LE(b.readBigUInt64LE(6) + BigInt(n), 6);
  return b;
}

/** Runs `tick(i)` for session i once per period, each at its own phase. */
function schedule(periodMs: () => number, count: number, tick: (i: number) => void): () => void {
  const timers: NodeJS.Timeout[] = [];
  for (let i = 0; i < count; i++) {
    // a period of 0 means "do not report", as Ceph's MgrClient takes it
    const loop = () => {
      if (periodMs() > 0) tick(i);
      timers[i] = setTimeout(loop, periodMs() || 1000);
    };
    timers[i] = setTimeout(loop, (periodMs() * i) / count);
  }
  return () => timers.forEach(clearTimeout);
}

let retries = 0;

async function withRetries<T>(f: () => Promise<T>, attempts = 5): Promise<T> {
  for (let i = 1; ; i++) {
    try {
      return await f();
    } catch (e) {
      if (i >= attempts) throw e;
      retries++;
      log.warn('connect failed; trying again', { attempt: i, error: (e as Error).message });
      await new Promise((r) => setTimeout(r, 200 * i));
    }
  }
}

async function msgr2(): Promise<() => void> {
  const auth = new CephxClient({ entity: arg('entity'), key: arg('key') });
  const monitors = arg('mon-host')
    .split(',')
    .map((a) => a.replace(/^v2:/, ''))
    .map((a) => ({ host: a.slice(0, a.lastIndexOf(':')), port: Number(a.slice(a.lastIndexOf(':') + 1)) }));
  const mc = new MonClient({ monitors, auth, logger: log });
  await mc.start();
  await until('a mgr ticket', () => !auth.missingTickets().includes('mgr'), 60_000);
  const clients: MgrDaemonClient[] = [];
  for (let i = 0; i < sessions; i += 50) {
    const batch = await Promise.all(
      Array.from({ length: Math.min(50, sessions - i) }, async (_, k) => {
        // as a daemon's MgrClient: a connection that fails is tried again
        const c = await withRetries(() =>
          MgrDaemonClient.connect({
            host,
            port: Number(portText),
            auth: auth.serviceSession(EntityType.MGR),
            entityType: EntityType.OSD,
            globalId: auth.globalId,
            logger: log,
          }),
        );
        // one entity, many sessions: each is an OSD by the service name (the entity's caps: allow profile osd)
        c.open({ daemonName: String(first + i + k), serviceName: 'osd' });
        await c.configured;
        return c;
      }),
    );
    clients.push(...batch);
  }
  process.stdout.write(`load connected ${clients.length} (${retries} connects tried again)\n`);
  const reported = new Array<number>(clients.length).fill(0);
  const stop = schedule(
    () => clients[0].configures[clients[0].configures.length - 1].statsPeriod * 1000,
    clients.length,
    (i) => {
      const c = clients[i];
      if (!c.conn.isReady) return;
      const r: MMgrReport = {
        daemonName: String(first + i),
        declareTypes: reported[i] === 0 ? declare : [],
        packed: packedAt(reported[i]++),
        undeclareTypes: [],
        serviceName: 'osd',
        daemonHealthMetrics: [],
        configBl: Buffer.alloc(0),
        osdPerfMetricReports: [],
      };
      c.send(mMgrReport(r));
      sent++;
    },
  );
  return () => {
    stop();
    for (const c of clients) c.close();
    mc.stop();
  };
}

/** The values in the gRPC Session's layout: declaration order (the captured declarations are sorted), long-running averages as sum and count. */
function grpcValues(n: number): number[] {
  const out: number[] = [];
  for (const v of unpackCounters(declare, packedAt(n))) {
    out.push(Number(v.value));
    if (isLongRunAvg(v.type)) out.push(Number(v.avgcount));
  }
  return out;
}

const grpcSchema: PerfCounterType[] = declare.map((t) => ({
  path: t.path,
  description: t.description,
  nick: t.nick,
  type: t.type,
  priority: t.priority,
  units: t.unit,
}));

async function grpcSessions(): Promise<() => void> {
  const auth = { entity: arg('grpc-entity'), key: arg('grpc-key') };
  const clients: MgrClient[] = [];
  let n = 0;
  for (let i = 0; i < sessions; i++) {
    clients.push(
      new MgrClient({
        daemonName: `osd.${first + i}`,
        address: arg('target'),
        auth,
        logger: log,
        phase: i / sessions,
        counters: {
          schema: grpcSchema,
          values: () => {
            sent++;
            return grpcValues(n++);
          },
        },
      }).start(),
    );
  }
  await until('every gRPC session configured', () => clients.every((c) => c.isConnected), 120_000, 250);
  process.stdout.write(`load connected ${clients.length}\n`);
  return () => clients.forEach((c) => void c.stop());
}

async function bareGrpc(): Promise<() => void> {
  const client = new BaselineClient(arg('target'), grpc.credentials.createInsecure()) as unknown as {
    Sink(cb: (e: Error | null) => void): grpc.ClientWritableStream<Buffer>;
  };
  const period = Number(arg('period', '5')) * 1000;
  const calls = Array.from({ length: sessions }, () => client.Sink(() => undefined));
  process.stdout.write(`load connected ${calls.length}\n`);
  const reported = new Array<number>(sessions).fill(0);
  const stop = schedule(
    () => period,
    sessions,
    (i) => {
      const bytes = SessionRequest.encode({
        msg: {
          $case: 'report',
          value: {
            declareTypes: reported[i] === 0 ? grpcSchema : [],
            undeclareTypes: [],
            packed: grpcValues(reported[i]++),
            daemonStatus: {},
            hasDaemonStatus: false,
            taskStatus: {},
            daemonHealthMetrics: [],
          },
        },
      }).finish();
      calls[i].write(Buffer.from(bytes));
      sent++;
    },
  );
  return () => {
    stop();
    for (const c of calls) c.end();
  };
}

async function main(): Promise<void> {
  const start = mode === 'msgr2' || mode === 'bare-msgr2' ? msgr2 : mode === 'grpc' ? grpcSessions : mode === 'bare-grpc' ? bareGrpc : null;
  if (!start) {
    process.stderr.write(`bench/msgr2-load.ts: --mode is msgr2, bare-msgr2, grpc or bare-grpc, not '${mode}'\n`);
    process.exit(2);
  }
  const stop = await start();
  const ticker = setInterval(() => process.stdout.write(`load sent ${sent}\n`), 1000);
  const end = () => {
    clearInterval(ticker);
    stop();
    setTimeout(() => process.exit(0), 200);
  };
  process.on('SIGTERM', end);
  process.on('SIGINT', end);
}

main().catch((e) => {
  process.stderr.write(`bench/msgr2-load.ts: ${(e as Error).stack ?? e}\n`);
  process.exit(1);
});
