// msgr2 sessions and secure mode. Our msgr2 server side (in a child process,
// bench/msgr2-churn-server.ts) verifies cephx authorizers with rotating mgr
// secrets, as the manager does; 1,000 clients open a session each (one
// entity's ticket reused, so no monitor is involved), exchange one message
// and drop it, 25 at a time. Figures:
//   - the server's memory after the churn (RSS, and V8 heap after garbage
//     collection) against the same just before it, after a warm-up of 50
//     sessions: a ratio near 1 means nothing is kept per session gone;
//   - sessions/s in secure mode against crc mode (the handshake's cost of
//     secure mode: the connection secret, AES-GCM from AUTH_SIGNATURE on);
//   - secure-mode frames (encode + decode of a 64 KiB message) against
//     crc-mode frames, MB/s, in this process.
// Not in the smoke test's groups: its point is the full 1,000 sessions.
import { encodeRotatingSecrets } from '../lib/ceph/cephx/rotating';
import { cephxServiceSession } from '../lib/ceph/cephx/service-session';
import { Connection } from '../lib/ceph/connection';
import { Encoder } from '../lib/ceph/encoding';
import { ByteQueue, CrcCodec, FrameReader, type FrameCodec } from '../lib/ceph/frames';
import { messageFrame, MsgType } from '../lib/ceph/message';
import { uniformModes } from '../lib/ceph/modes';
import { SecureCodec } from '../lib/ceph/secure';
import { freshRotatingSecrets, issueTicket } from '../lib/ceph/testing/issuer';
import { EntityType } from '../lib/ceph/types';
import { createLogger } from '../lib/log';
import { churn } from '../lib/testing/churn';
import { BenchResult, Figure, MEASURE_MS, SMOKE, startNode, timedLoop, WARMUP_MS } from './harness';

const SESSIONS = Number(process.env.BENCH_MSGR2_CHURN_SESSIONS ?? (SMOKE ? 60 : 1000));
const RATE_SESSIONS = SMOKE ? 30 : 300;
const CONCURRENCY = 25;
const TURNS = SMOKE ? 1 : 6;
const MB = 1024 * 1024;

interface Memory {
  rss: number;
  heapUsed: number;
  external: number;
  open: number;
  accepted: number;
}

/** One frame's encode and decode through a codec pair, as a loop body. */
function frameLoop(tx: FrameCodec, rx: FrameCodec, bytes: number): () => Promise<void> {
  const q = new ByteQueue();
  const reader = new FrameReader(q, rx, 1 << 26);
  const frame = messageFrame({
    type: MsgType.OSD_MAP,
    version: 1,
    compatVersion: 1,
    front: Buffer.alloc(200, 1),
    data: Buffer.alloc(bytes, 2),
    seq: 1n,
    ackSeq: 0n,
  });
  return async () => {
    q.push(tx.encode(frame));
    if (!reader.next()) throw new Error('the frame did not come back');
  };
}

export async function runMsgr2Churn(): Promise<BenchResult> {
  const secrets = freshRotatingSecrets();
  const e = new Encoder();
  encodeRotatingSecrets(e, secrets);
  const server = startNode('bench/msgr2-churn-server.ts', [], { BENCH_MSGR2_CHURN_SECRETS: e.toBuffer().toString('hex') });
  let asked = 0;
  const memory = async (): Promise<Memory> => {
    const n = ++asked;
    const line = server.waitForLine(new RegExp(`^memory ${n} (.*)$`));
    server.proc.kill('SIGUSR2');
    return JSON.parse((await line)[1]) as Memory;
  };
  try {
    const port = Number((await server.waitForLine(/^listening (\d+)/))[1]);
    // one entity's mgr ticket, reused by every client (what a monitor would have granted client.admin)
    const gid = 4242n;
    const ticket = issueTicket({ name: { type: EntityType.CLIENT, id: 'admin' }, globalId: gid, serviceId: EntityType.MGR, cap: 'allow *', secrets });
    const logger = createLogger({ service: 'bench-msgr2' }, 'error');
    const open = (modes?: ReturnType<typeof uniformModes>) => () =>
      Connection.connect({
        logger,
        entityType: EntityType.CLIENT,
        host: '127.0.0.1',
        port,
        auth: cephxServiceSession({ globalId: gid, ticket }),
        peerType: EntityType.MGR,
        globalId: gid,
        modes,
      });
    const run = async (sessions: number, modes?: ReturnType<typeof uniformModes>) => {
      const r = await churn({ sessions, concurrency: CONCURRENCY, open: open(modes) });
      if (r.failed) throw new Error(`${r.failed} of ${sessions} sessions failed: ${r.errors.join('; ')}`);
      return r;
    };
    await run(50);
    const before = await memory();
    const churned = await run(SESSIONS);
    const after = await memory();
    if (after.open !== 0) throw new Error(`${after.open} connections still open on the server after the churn`);
    // crc and secure sessions take turns too, a sixth of the sessions at a time
    const rate = { crc: { ms: 0 }, secure: { ms: 0 } };
    for (let turn = 0; turn < 6; turn++) {
      for (const k of ['crc', 'secure'] as const) rate[k].ms += (await run(RATE_SESSIONS / 6, uniformModes(k))).ms;
    }
    const [crcRate, secureRate] = [rate.crc, rate.secure];

    // the two codecs take turns (the machine is shared: a burst of load hits both alike)
    const secret = Buffer.alloc(64, 7);
    const size = 64 * 1024;
    const loops = {
      crc: frameLoop(new CrcCodec(), new CrcCodec(), size),
      secure: frameLoop(SecureCodec.fromSecret(secret, 'client'), SecureCodec.fromSecret(secret, 'server'), size),
    };
    const done = { crc: { ops: 0, seconds: 0 }, secure: { ops: 0, seconds: 0 } };
    for (let turn = 0; turn < TURNS; turn++) {
      for (const k of ['crc', 'secure'] as const) {
        const s = await timedLoop(loops[k], { measureMs: MEASURE_MS / 2, warmupMs: turn ? 0 : WARMUP_MS });
        done[k].ops += s.ops;
        done[k].seconds += s.seconds;
      }
    }
    const [crc, secure] = [done.crc.ops / done.crc.seconds, done.secure.ops / done.secure.seconds];

    const figures: Figure[] = [
      {
        name: `msgr2_churn_rss_after_${SESSIONS}_sessions`,
        value: after.rss / MB,
        unit: 'MB',
        baseline: before.rss / MB,
        baselineName: 'RSS before the churn',
        note: `${SESSIONS} sessions in ${(churned.ms / 1000).toFixed(1)} s, ${CONCURRENCY} at a time, secure mode, cephx authorizers`,
      },
      {
        name: `msgr2_churn_heap_after_${SESSIONS}_sessions`,
        value: after.heapUsed / MB,
        unit: 'MB',
        baseline: before.heapUsed / MB,
        baselineName: 'V8 heap before the churn',
        note: 'after garbage collection in the server process',
      },
      {
        name: 'msgr2_secure_sessions_per_s',
        value: RATE_SESSIONS / (secureRate.ms / 1000),
        unit: 'sessions/s',
        baseline: RATE_SESSIONS / (crcRate.ms / 1000),
        baselineName: 'crc mode',
        note: 'open, authenticate, one message each way, close',
      },
      {
        name: 'msgr2_secure_frames_mb_per_s',
        value: (secure * size) / MB,
        unit: 'MB/s',
        baseline: (crc * size) / MB,
        baselineName: 'crc mode',
        note: `encode + decode of a message with a 64 KiB data segment, one core, ${TURNS} turns each`,
      },
    ];
    return { bench: 'msgr2-churn', figures, params: { sessions: SESSIONS, concurrency: CONCURRENCY, rateSessions: RATE_SESSIONS, frameBytes: size } };
  } finally {
    await server.kill();
  }
}
