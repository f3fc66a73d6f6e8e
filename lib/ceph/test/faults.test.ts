// Hard faults on secure-mode sessions between our monitor client and test
// monitors built from our server, each bounded in time and count, each
// ending only the session it hits: a monitor gone mid-frame (a relay cuts
// the frame in half and drops both ends), a half-open link (keepalives
// unanswered, on either side), garbage after authenticating (either way).
// The monitor client goes on with another monitor and its pending command
// is answered there; the monitor's other sessions never notice.
import { randomBytes } from 'crypto';
import { AuthError, AuthMethod, CONNECTION_SECRET_BYTES, ConMode, type AuthServerSession, type MonAuthProvider } from '../auth';
import { MonClient } from '../monclient';
import { startTestMon, type TestMon } from '../testing/monitor';
import { EntityType } from '../types';
import { createLogger } from '../../log';
import { startRelay, type Relay } from '../../testing/relay';
import { until } from '../../testing/wait';

const logger = createLogger({ test: 'faults' }, 'error');

// A stand-in for cephx between the monitor client and the test monitors: a
// shared session key, and a fresh connection secret per session handed
// over in AUTH_DONE (in the clear: this file is about the wire, cephx is
// tested on its own and live).
const KEY = Buffer.alloc(16, 9);
function keyedMonServer(): AuthServerSession {
  return {
    request: (_method, conMode) => {
      const secret = conMode === ConMode.SECURE ? randomBytes(CONNECTION_SECRET_BYTES) : Buffer.alloc(0);
      return {
        kind: 'done',
        payload: secret,
        result: { globalId: 4100n, conMode, sessionKey: KEY, connectionSecret: secret },
        peer: { type: EntityType.CLIENT, id: 'admin' },
        caps: {},
      };
    },
    more: () => ({ kind: 'bad', reason: 'one round only' }),
  };
}
const keyedClient = (): MonAuthProvider => ({
  entity: { type: EntityType.CLIENT, id: 'admin' },
  method: AuthMethod.CEPHX,
  monSession: () => ({
    request: () => ({ method: AuthMethod.CEPHX, payload: Buffer.from('client.admin') }),
    more: () => {
      throw new AuthError('one round only');
    },
    done: (globalId, conMode, payload) => ({ globalId, conMode, sessionKey: KEY, connectionSecret: payload }),
  }),
  renewal: () => undefined,
  handleReply: () => undefined,
  nextRenewalMs: () => undefined,
});

const BIG = Buffer.alloc(256 * 1024, '{"osd":1}');

describe('hard faults on secure sessions', () => {
  const mons: TestMon[] = [];
  const relays: Relay[] = [];
  const clients: MonClient[] = [];
  /** Two test monitors, each behind a relay its monmap announces, answering `osd dump` with 256 KiB. */
  const start = async (o: { keepaliveMs?: number; idleTimeoutMs?: number } = {}) => {
    for (const name of ['a', 'b']) {
      const m = await startTestMon({ name, logger, auth: keyedMonServer, answer: () => ({ r: 0, rs: '', data: BIG }), ...o }, () => mons);
      const r = await startRelay({ host: '127.0.0.1', port: m.port });
      m.advertisedPort = r.port;
      mons.push(m);
      relays.push(r);
    }
  };
  const client = (extra: Partial<ConstructorParameters<typeof MonClient>[0]> = {}) => {
    const c = new MonClient({
      monitors: relays.map((r) => ({ host: '127.0.0.1', port: r.port })),
      auth: keyedClient(),
      logger,
      backoffMs: 50,
      maxBackoffMs: 200,
      ...extra,
    });
    clients.push(c);
    return c;
  };
  /** The relay and monitor of a client's current session. */
  const sessionOf = (c: MonClient) => {
    const i = relays.findIndex((r) => c.status().monitor?.endsWith(`:${r.port}`));
    if (i < 0) throw new Error(`no session: ${c.status().monitor}`);
    return { relay: relays[i], mon: mons[i], other: mons[1 - i] };
  };
  afterEach(async () => {
    for (const c of clients.splice(0)) c.stop();
    for (const r of relays.splice(0)) await r.close();
    for (const m of mons.splice(0)) await m.close();
  });

  it('a monitor gone mid-frame: the session ends, the command is answered by the other monitor', async () => {
    await start();
    const c = client();
    await c.start();
    expect(c.status().mode).toBe('secure');
    const { relay, other } = sessionOf(c);
    const first = c.status().monitor;
    const cut = relay.cutNext('toClient');
    const answer = c.command({ prefix: 'osd dump', format: 'json' }, { timeoutMs: 15_000 });
    const { forwarded, of } = await cut;
    expect(forwarded).toBeLessThan(of); // the answer's frame was cut
    const r = await answer;
    expect(r.data.equals(BIG)).toBe(true);
    expect(c.status().monitor).not.toBe(first);
    expect(other.commands).toContain('{"prefix":"osd dump","format":"json"}');
    expect(c.status()).toMatchObject({ sessions: 2, wire: { decryptFailures: 0, crcErrors: 0 } });
  });

  it("a client gone mid-frame ends its own session at the monitor; the monitor's other sessions go on", async () => {
    await start();
    const victim = client();
    await victim.start();
    const { relay, mon } = sessionOf(victim);
    const bystander = client({ monitors: [{ host: '127.0.0.1', port: mon.port }] });
    await bystander.start();
    const cut = relay.cutNext('toServer');
    void victim.command({ prefix: 'osd dump' }, { timeoutMs: 15_000 }).catch(() => undefined);
    await cut;
    await until("the monitor ended the victim's session", () => mon.conns.filter((x) => x.closeReason).length === 1, 10_000);
    expect((await bystander.command({ prefix: 'osd dump' }, { timeoutMs: 10_000 })).r).toBe(0);
    expect(mon.counters).toMatchObject({ decryptFailures: 0, malformedFrames: 0 });
  });

  it('a half-open link: each side drops it after its idle timeout, the client moves to the other monitor', async () => {
    await start({ keepaliveMs: 100, idleTimeoutMs: 3000 }); // the client notices first
    const c = client({ keepaliveMs: 100, idleTimeoutMs: 1500 });
    await c.start();
    const { relay, mon } = sessionOf(c);
    const first = c.status().monitor;
    relay.blackhole = true; // the link goes dead: nothing passes, nothing closes
    await until('a session with the other monitor', () => c.status().state === 'connected' && c.status().monitor !== first, 15_000);
    expect(c.status().lastError).toMatch(/sent nothing for \d+ ms/);
    expect(c.status().wire.timeouts).toBe(1);
    await until('the monitor dropped its side too', () => mon.counters.timeouts === 1, 15_000);
    expect(mon.conns[0].closeReason).toMatchObject({ code: 'timeout' });
    expect((await c.command({ prefix: 'osd dump' }, { timeoutMs: 10_000 })).r).toBe(0);
  });

  it('a monitor that sends garbage after authenticating: the client drops it (a decrypt failure) and goes on elsewhere', async () => {
    await start();
    const c = client();
    await c.start();
    const { relay } = sessionOf(c);
    const first = c.status().monitor;
    relay.pairs[relay.pairs.length - 1].client.write(randomBytes(1000)); // as if from the monitor
    await until('a session with the other monitor', () => c.status().state === 'connected' && c.status().monitor !== first, 10_000);
    expect(c.status().wire.decryptFailures).toBe(1);
    expect((await c.command({ prefix: 'osd dump' }, { timeoutMs: 10_000 })).data.length).toBe(BIG.length);
  });

  it('a client that sends garbage after authenticating: the monitor drops that session only', async () => {
    await start();
    const victim = client({ monitors: [{ host: '127.0.0.1', port: relays[0].port }] });
    const bystander = client({ monitors: [{ host: '127.0.0.1', port: mons[0].port }] });
    await victim.start();
    await bystander.start();
    const ended = new Promise((r) => victim.once('disconnected', r));
    relays[0].pairs[0].server.write(randomBytes(2000)); // as if from the victim
    await ended;
    await until('the monitor counted it', () => mons[0].counters.decryptFailures === 1, 10_000);
    expect(mons[0].conns.filter((x) => x.closeReason)).toHaveLength(1);
    expect((await bystander.command({ prefix: 'osd dump' }, { timeoutMs: 10_000 })).r).toBe(0);
    await until('the victim back with a monitor', () => victim.status().state === 'connected', 10_000);
  });
});
