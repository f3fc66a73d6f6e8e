// Offline: a client's life after the handshake, on a clock the test moves:
// service tickets renewed with GET_PRINCIPAL_SESSION_KEY, the auth ticket
// with GET_AUTH_SESSION_KEY (answering the session's challenge again), the
// rotating secrets fetched again after the monitors rotate, one request at
// a time, and a backoff after a failed reply. The monitor's answers are
// made with the same structures a monitor uses.
import { AuthError } from '../../auth';
import { Decoder, Encoder } from '../../encoding';
import { EntityType, utimeNow } from '../../types';
import { decodeAuthenticate } from '../authenticate';
import { decodeAuthorizerHead, readAuthorize } from '../authorizer';
import { challengeAnswer, newCryptoKey, writeEncrypted } from '../crypto';
import { CephxRequest, decodeRequestHeader, encodeResponseHeader } from '../header';
import { encodeRotatingSecrets, RotatingKeys } from '../rotating';
import { decodeServiceTicketRequest, encodeTicketReply } from '../ticket-reply';
import { NO_TICKET } from '../ticket';
import { authFrom, captureKeys, capturedAuthenticate, replayHandshake } from './captured';
import { cephSecret } from '../../../keyring';
import { CephxClient } from '../client';
import { freshRotatingSecrets } from './issuer';

const HOUR = 3600_000;
const a = authFrom('01-bringup', '127.0.0.1:45076'); // ceph-mgr's monitor session as mgr.x (tickets for mon, osd, mds, mgr)
const mgrKey = captureKeys().get('mgr.x') as string;
const mgrSecret = cephSecret(mgrKey);

/** mgr.x after its captured handshake and rotating-key fetch, on a clock the test sets. */
function mgrX() {
  const clock = { now: a.startMs };
  const rotating = new RotatingKeys(EntityType.MGR);
  let n = 0n;
  const client = new CephxClient({
    entity: 'mgr.x',
    key: mgrKey,
    want: capturedAuthenticate(a).otherKeys,
    rotating,
    now: () => clock.now,
    random: () => (n++ === 0n ? capturedAuthenticate(a).clientChallenge : 1000n + n),
  });
  replayHandshake(client, a, true);
  return { client, clock, rotating };
}

/** A monitor's reply granting fresh tickets for `services`, sealed with `principal` (and the ticket blobs with `ticketKey`). */
function grant(requestType: number, principal: Buffer, services: number[], now: number, ttlMs: number, ticketKey?: Buffer) {
  const e = new Encoder();
  encodeResponseHeader(e, { requestType, status: 0 });
  const grants = services.map((serviceId) => ({
    serviceId,
    sessionKey: newCryptoKey(now),
    validity: utimeNow(ttlMs),
    ticket: { secretId: 9n, blob: Buffer.from(`ticket for ${serviceId} at ${now}`) },
    ticketKey: serviceId === EntityType.AUTH ? ticketKey : undefined,
  }));
  encodeTicketReply(e, principal, grants);
  return { payload: e.toBuffer(), grants };
}

describe('after the handshake', () => {
  it('nothing is due until the service tickets reach three quarters of their hour', () => {
    const { client, clock } = mgrX();
    expect(client.renewal()).toBeUndefined();
    const wait = client.nextRenewalMs() as number;
    expect(wait).toBe(0.75 * HOUR); // the rotating secrets are refreshed later (current expiry + 30 s)
    clock.now += wait - 1;
    expect(client.renewal()).toBeUndefined();
  });

  it('renews service tickets with GET_PRINCIPAL_SESSION_KEY: an authorizer from the auth ticket, the services due', () => {
    const { client, clock } = mgrX();
    clock.now += 0.75 * HOUR;
    const payload = client.renewal() as Buffer;
    const d = new Decoder(payload);
    expect(decodeRequestHeader(d)).toBe(CephxRequest.GET_PRINCIPAL_SESSION_KEY);
    const head = decodeAuthorizerHead(d);
    const auth = client.tickets.get(EntityType.AUTH);
    expect(head).toMatchObject({ globalId: a.done.globalId, serviceId: EntityType.AUTH });
    expect(head.ticket.blob.equals(auth?.ticket.blob as Buffer)).toBe(true);
    expect(readAuthorize(d, auth?.sessionKey as Buffer).haveChallenge).toBe(false);
    const due = decodeServiceTicketRequest(d);
    expect(due).toBe(capturedAuthenticate(a).otherKeys & ~EntityType.AUTH);
    expect(client.renewal()).toBeUndefined(); // one request at a time

    const services = [EntityType.MON, EntityType.OSD, EntityType.MDS, EntityType.MGR].filter((s) => due & s);
    const r = grant(CephxRequest.GET_PRINCIPAL_SESSION_KEY, auth?.sessionKey as Buffer, services, clock.now, HOUR);
    client.handleReply(0, r.payload);
    for (const g of r.grants) {
      expect(client.tickets.get(g.serviceId)?.sessionKey.equals(g.sessionKey.secret)).toBe(true);
      expect(client.tickets.get(g.serviceId)?.expiresMs).toBe(clock.now + HOUR);
    }
    expect(client.nextRenewalMs()).toBe(0.75 * HOUR);
  });

  it('renews the auth ticket with GET_AUTH_SESSION_KEY, answering the challenge of the session again, the new ticket sealed with the old session key', () => {
    const { client, clock } = mgrX();
    const old = client.tickets.get(EntityType.AUTH);
    clock.now = (old?.renewAfterMs as number) + 1;
    const payload = client.renewal() as Buffer;
    const d = new Decoder(payload);
    expect(decodeRequestHeader(d)).toBe(CephxRequest.GET_AUTH_SESSION_KEY);
    const req = decodeAuthenticate(d);
    // what a monitor checks: the answer to its session's challenge, and the old ticket to keep the global id
    const serverChallenge = new Decoder(a.replyMore as Buffer, 1).u64();
    expect(req.key).toBe(challengeAnswer(mgrSecret, serverChallenge, req.clientChallenge));
    expect(req.oldTicket.blob.equals(old?.ticket.blob as Buffer)).toBe(true);
    expect(req.otherKeys & EntityType.AUTH).toBe(EntityType.AUTH);

    const r = grant(CephxRequest.GET_AUTH_SESSION_KEY, mgrSecret, [EntityType.AUTH], clock.now, 72 * HOUR, old?.sessionKey);
    const e = new Encoder().bytes(r.payload);
    e.blob(Buffer.alloc(0)); // no connection secret
    const extra = new Encoder();
    encodeTicketReply(extra, r.grants[0].sessionKey.secret, [
      { serviceId: EntityType.MGR, sessionKey: newCryptoKey(), validity: utimeNow(HOUR), ticket: NO_TICKET },
    ]);
    e.blob(extra.toBuffer());
    client.handleReply(0, e.toBuffer());
    expect(client.tickets.get(EntityType.AUTH)?.sessionKey.equals(r.grants[0].sessionKey.secret)).toBe(true);
    expect(client.tickets.get(EntityType.MGR)?.expiresMs).toBe(clock.now + HOUR);
  });

  it('fetches the rotating secrets again once the current one has expired, and takes the new set', () => {
    const { client, clock, rotating } = mgrX();
    const refreshAt = rotating.refreshAt();
    expect(refreshAt).toBe((rotating.current()?.expiresMs as number) + 30_000);
    clock.now = refreshAt;
    // the service tickets are due by then too: those first, then the rotating secrets
    const first = client.renewal() as Buffer;
    expect(decodeRequestHeader(new Decoder(first))).toBe(CephxRequest.GET_PRINCIPAL_SESSION_KEY);
    const auth = client.tickets.get(EntityType.AUTH);
    client.handleReply(
      0,
      grant(
        CephxRequest.GET_PRINCIPAL_SESSION_KEY,
        auth?.sessionKey as Buffer,
        [EntityType.MON, EntityType.OSD, EntityType.MDS, EntityType.MGR],
        clock.now,
        HOUR,
      ).payload,
    );
    expect(client.nextRenewalMs()).toBe(0);
    const ask = client.renewal() as Buffer;
    expect(ask.equals(Buffer.from([0x00, 0x04]))).toBe(true);

    const next = freshRotatingSecrets(clock.now);
    const e = new Encoder();
    encodeResponseHeader(e, { requestType: CephxRequest.GET_ROTATING_KEY, status: 0 });
    writeEncrypted(e, mgrSecret, (p) => encodeRotatingSecrets(p, next));
    client.handleReply(0, e.toBuffer());
    expect(rotating.get(2n)?.equals(next.secrets.get(2n)?.key.secret as Buffer)).toBe(true);
    expect(rotating.needsRefresh(clock.now)).toBe(false);
  });

  it('rotating secrets that are due already (a skewed clock) are fetched again only every 30 s', () => {
    const { client, clock, rotating } = mgrX();
    const stale = freshRotatingSecrets(clock.now - 10 * HOUR);
    const e = new Encoder();
    encodeResponseHeader(e, { requestType: CephxRequest.GET_ROTATING_KEY, status: 0 });
    writeEncrypted(e, mgrSecret, (p) => encodeRotatingSecrets(p, stale));
    client.handleReply(0, e.toBuffer());
    expect(rotating.needsRefresh(clock.now)).toBe(true);
    expect(client.renewal()).toBeUndefined();
    expect(client.nextRenewalMs()).toBe(30_000);
  });

  it('an unanswered request is sent again after 15 s; a refused one waits, longer each time', () => {
    const { client, clock } = mgrX();
    clock.now += 0.75 * HOUR;
    expect(client.renewal()).toBeDefined();
    expect(client.nextRenewalMs()).toBe(15_000);
    clock.now += 15_000;
    expect(client.renewal()).toBeDefined();
    expect(() => client.handleReply(-13, Buffer.alloc(0))).toThrow(
      /GET_PRINCIPAL_SESSION_KEY as mgr\.x: the monitor refused mgr\.x the service tickets it asked for \(EACCES\)/,
    );
    expect(client.nextRenewalMs()).toBe(2000);
    expect(client.renewal()).toBeUndefined();
    clock.now += 2000;
    client.renewal();
    expect(() => client.handleReply(0, Buffer.from([0x00, 0x02, 0, 0, 0, 0, 1]))).toThrow(AuthError);
    expect(client.nextRenewalMs()).toBe(4000);
  });

  it('a new session keeps the service tickets when the monitor keeps the global id, and drops them when it gives a new one', () => {
    for (const [gid, kept] of [
      [a.done.globalId, true],
      [a.done.globalId + 1n, false],
    ] as const) {
      const { client, clock } = mgrX();
      const s = client.monSession();
      s.request();
      const challenge = new Encoder().u8(1).u64(5n).toBuffer();
      const req = new Decoder(s.more(challenge));
      decodeRequestHeader(req);
      expect(decodeAuthenticate(req).otherKeys).toBe(EntityType.AUTH); // the service tickets are still good: only the auth ticket is asked for
      const r = grant(CephxRequest.GET_AUTH_SESSION_KEY, mgrSecret, [EntityType.AUTH], clock.now, 72 * HOUR, client.tickets.get(EntityType.AUTH)?.sessionKey);
      s.done(gid, 1, r.payload);
      expect(client.globalId).toBe(gid);
      expect(client.missingTickets()).toBe(kept ? 'none' : 'mon, mds, osd, mgr');
    }
  });

  it('a service session needs a valid ticket of that service', () => {
    const { client, clock } = mgrX();
    expect(() => client.serviceSession(EntityType.MGR)).not.toThrow();
    clock.now += 2 * HOUR;
    expect(() => client.serviceSession(EntityType.MGR)).toThrow(/mgr\.x holds no valid mgr ticket/);
  });
});
