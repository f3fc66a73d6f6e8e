// The msgr2 benchmark's bare transport: a manager-side msgr2 server with
// nothing behind it. Connections are accepted in crc mode and authenticated
// with cephx exactly as daemon-server's front door does (the mgr service's
// rotating secrets, fetched from the live monitors as a manager entity); an
// MMgrOpen is answered with MMgrConfigure so a daemon starts reporting;
// every other message is counted and dropped. What is left of the front
// door's cost above this is decoding, checking and ingest.
//   node --import tsx bench/msgr2-bare.ts --mon-host v2:127.0.0.1:3300 --entity mgr.bare --key K [--period 5]
// Prints `bare msgr2 listening on 127.0.0.1:<port>`.
import * as net from 'net';
import { CephxClient } from '../lib/ceph/cephx/client';
import { RotatingKeys } from '../lib/ceph/cephx/rotating';
import { cephxServiceServer } from '../lib/ceph/cephx/service-server';
import { Connection, WireCounters } from '../lib/ceph/connection';
import { MsgType, type Message } from '../lib/ceph/message';
import { mMgrConfigure } from '../lib/ceph/messages/mgr';
import { MonClient } from '../lib/ceph/monclient';
import { EntityType, v2Addr } from '../lib/ceph/types';
import { createLogger } from '../lib/log';
import { until } from '../lib/testing/wait';

function arg(name: string, fallback?: string): string {
  const i = process.argv.indexOf(`--${name}`);
  if (i >= 0 && i + 1 < process.argv.length) return process.argv[i + 1];
  if (fallback !== undefined) return fallback;
  process.stderr.write(`bench/msgr2-bare.ts: --${name} is required\n`);
  process.exit(2);
}

async function main(): Promise<void> {
  const log = createLogger({ service: 'msgr2-bare' }, 'warn');
  const period = Number(arg('period', '5'));
  const keys = new RotatingKeys(EntityType.MGR);
  const monitors = arg('mon-host')
    .split(',')
    .map((a) => a.replace(/^v2:/, ''))
    .map((a) => ({ host: a.slice(0, a.lastIndexOf(':')), port: Number(a.slice(a.lastIndexOf(':') + 1)) }));
  const mc = new MonClient({ monitors, auth: new CephxClient({ entity: arg('entity'), key: arg('key'), rotating: keys }), logger: log });
  await mc.start();
  await until('the rotating mgr secrets', () => keys.size > 0, 60_000);
  const counters = new WireCounters();
  const conns = new Set<Connection>();
  const server = net.createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as net.AddressInfo).port;
  server.on('connection', (socket) => {
    const c = Connection.accept(socket, {
      logger: log,
      entityType: EntityType.MGR,
      auth: () => cephxServiceServer({ keys }),
      myAddrs: [v2Addr('127.0.0.1', port, 1)],
      counters,
    });
    conns.add(c);
    c.on('message', (m: Message) => {
      if (m.type === MsgType.MGR_OPEN) c.sendMessage(mMgrConfigure({ statsPeriod: period, statsThreshold: 5, osdPerfMetricQueries: [] }));
    });
    c.on('close', () => conns.delete(c));
  });
  process.stdout.write(`bare msgr2 listening on 127.0.0.1:${port}\n`);
  const ticker = setInterval(() => process.stdout.write(`bare received ${counters.messagesIn}\n`), 1000);
  process.on('SIGTERM', () => {
    clearInterval(ticker);
    for (const c of conns) c.close();
    mc.stop();
    server.close(() => process.exit(0));
  });
}

main().catch((e) => {
  process.stderr.write(`bench/msgr2-bare.ts: ${(e as Error).stack ?? e}\n`);
  process.exit(1);
});
