// The server of `npm run bench -- msgr2-churn`, in a process of its own so its
// memory is its own: our msgr2 server side (lib/ceph/connection.ts) as the
// manager runs it, verifying cephx authorizers with the rotating mgr
// secrets it is given (BENCH_MSGR2_CHURN_SECRETS, hex of encodeRotatingSecrets)
// and echoing every message. Prints `listening <port>`; on SIGUSR2 it
// collects garbage and prints `memory <n> <json>` (process.memoryUsage()
// and its open connections).
import * as net from 'net';
import * as v8 from 'v8';
import * as vm from 'vm';
import { RotatingKeys, decodeRotatingSecrets } from '../lib/ceph/cephx/rotating';
import { cephxServiceServer } from '../lib/ceph/cephx/service-server';
import { Connection, WireCounters } from '../lib/ceph/connection';
import { Decoder } from '../lib/ceph/encoding';
import type { Message } from '../lib/ceph/message';
import { EntityType, v2Addr } from '../lib/ceph/types';
import { createLogger } from '../lib/log';

v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc') as () => void;

const hex = process.env.BENCH_MSGR2_CHURN_SECRETS;
if (!hex) throw new Error('BENCH_MSGR2_CHURN_SECRETS (the rotating mgr secrets) is not set');
const keys = new RotatingKeys(EntityType.MGR);
keys.set(decodeRotatingSecrets(new Decoder(Buffer.from(hex, 'hex'))));
const logger = createLogger({ service: 'bench-msgr2-churn-server' }, 'error');
const counters = new WireCounters();
const open = new Set<Connection>();
let accepted = 0;

const srv = net.createServer((socket) => {
  accepted++;
  const c = Connection.accept(socket, {
    logger,
    entityType: EntityType.MGR,
    auth: () => cephxServiceServer({ keys }),
    myAddrs: [v2Addr('127.0.0.1', port)],
    counters,
  });
  open.add(c);
  c.on('message', (m: Message) => c.sendMessage({ type: m.type + 1, version: 1, compatVersion: 1, front: m.front }));
  c.on('close', () => open.delete(c));
});
let port = 0;
srv.listen(0, '127.0.0.1', () => {
  port = (srv.address() as net.AddressInfo).port;
  process.stdout.write(`listening ${port}\n`);
});

let asked = 0;
process.on('SIGUSR2', () => {
  for (let i = 0; i < 3; i++) gc();
  const m = process.memoryUsage();
  process.stdout.write(`memory ${++asked} ${JSON.stringify({ ...m, open: open.size, accepted, counters })}\n`);
});
process.on('SIGTERM', () => process.exit(0));
