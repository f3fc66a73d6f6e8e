// Session churn against a msgr2 server, for the fault test and the
// benchmark: many clients, a few at a time, each opening a session
// (handshake, authentication), exchanging one message and dropping it.
import type { Connection } from '../ceph/connection';
import { MsgType, type Message } from '../ceph/message';

export interface ChurnResult {
  opened: number;
  failed: number;
  /** The first few failures, for the message of a failing test. */
  errors: string[];
  ms: number;
}

/** Opens and drops `sessions` sessions, `concurrency` at a time; each sends one message and waits for an answer (the server is expected to echo). */
export async function churn(o: { sessions: number; concurrency: number; open: () => Promise<Connection>; answerTimeoutMs?: number }): Promise<ChurnResult> {
  const t0 = performance.now();
  const res: ChurnResult = { opened: 0, failed: 0, errors: [], ms: 0 };
  let next = 0;
  const one = async () => {
    const c = await o.open();
    try {
      const answered = new Promise<Message>((resolve, reject) => {
        const t = setTimeout(() => reject(new Error(`no answer within ${o.answerTimeoutMs ?? 10000} ms`)), o.answerTimeoutMs ?? 10000);
        c.once('message', (m: Message) => {
          clearTimeout(t);
          resolve(m);
        });
        c.once('close', () => {
          clearTimeout(t);
          reject(new Error('closed before answering'));
        });
      });
      c.sendMessage({ type: MsgType.COMMAND, version: 1, compatVersion: 1, front: Buffer.from('{"prefix":"get_command_descriptions"}') });
      await answered;
    } finally {
      c.close();
    }
  };
  await Promise.all(
    Array.from({ length: o.concurrency }, async () => {
      while (next < o.sessions) {
        next++;
        try {
          await one();
          res.opened++;
        } catch (e) {
          res.failed++;
          if (res.errors.length < 5) res.errors.push((e as Error).message);
        }
      }
    }),
  );
  res.ms = performance.now() - t0;
  return res;
}
