// Offline: the cephx steps of a real Pacific cluster's captured traffic
// (shared/ceph-wire/vectors/01-bringup.pcap), replayed through our client
// and server sessions with the cluster's saved keys. Where the protocol is
// deterministic (the randomness is the captured challenge or nonce, fed
// back in), what we send must equal what was captured, byte for byte.
import { AuthError, AuthMethod, ConMode } from '../../auth';
import { Decoder } from '../../encoding';
import { EntityType, formatEntityName } from '../../types';
import { decodeAuthorizerHead, readAuthorize } from '../authorizer';
import { CephxClient } from '../client';
import { hmacSha256 } from '../crypto';
import { RotatingKeys } from '../rotating';
import { cephxServiceServer } from '../service-server';
import { cephxServiceSession } from '../service-session';
import { authFrom, authsTo, captureKeys, capturedAuthenticate, capturedChallenge, capturedMAuth, replayClient, type CapturedAuth } from './captured';

const V = '01-bringup';
const keys = captureKeys();
const MGR_X = '127.0.0.1:45072'; // mgr.x's first monitor session (as a client, fetching rotating keys)
const MGR_ADDR = '127.0.0.1:40226'; // mgr.x, the active manager

/** Replays a captured monitor handshake through a CephxClient; returns the client and the session key. */
function replayMonHandshake(a: CapturedAuth, entity: string, opts: { rotating?: RotatingKeys } = {}) {
  const client = replayClient(a, entity, keys.get(entity) as string, opts.rotating);
  const session = client.monSession(0n);
  const req = session.request();
  expect(req.method).toBe(AuthMethod.CEPHX);
  expect(req.preferredModes).toEqual([ConMode.CRC]);
  expect(req.payload.equals(a.request.payload)).toBe(true);
  // the answer to the monitor's challenge, computed with the entity's key, is what the real client sent
  expect(session.more(a.replyMore as Buffer).equals(a.requestMore as Buffer)).toBe(true);
  const result = session.done(a.done.globalId, a.done.conMode, a.done.payload);
  return { client, result };
}

describe('a monitor handshake replays', () => {
  it.each([
    ['client.admin (the CLI, asking only for its auth ticket)', '127.0.0.1:45010', 'client.admin'],
    ['client.admin (asking for mon, osd and mgr tickets)', '127.0.0.1:45024', 'client.admin'],
    ['mgr.x', MGR_X, 'mgr.x'],
    ['osd.0', '127.0.0.1:45166', 'osd.0'],
    ['mds.a', '127.0.0.1:55044', 'mds.a'],
  ])('%s', (_what, from, entity) => {
    const a = authFrom(V, from);
    expect(a.label).toBe(entity);
    const { client, result } = replayMonHandshake(a, entity);
    expect(result.globalId).toBe(a.done.globalId);
    expect(client.globalId).toBe(a.done.globalId);
    expect(result.sessionKey).toHaveLength(16);
    expect(result.connectionSecret).toHaveLength(0); // crc mode: no connection secret
    // both AUTH_SIGNATUREs verify with the session key we derived
    expect(hmacSha256(result.sessionKey, a.clientSignature.signs).equals(a.clientSignature.signature)).toBe(true);
    expect(hmacSha256(result.sessionKey, a.serverSignature.signs).equals(a.serverSignature.signature)).toBe(true);
    // every ticket asked for came with the handshake
    const asked = capturedAuthenticate(a).otherKeys;
    for (const s of [EntityType.MON, EntityType.OSD, EntityType.MGR, EntityType.MDS]) {
      expect(client.tickets.valid(s, a.startMs) !== undefined).toBe((asked & s) !== 0);
    }
    expect(client.tickets.valid(EntityType.AUTH, a.startMs)).toBeDefined();
  });

  it('a client asks by default for what the CLI asks: auth, mon, osd and mgr tickets', () => {
    expect(capturedAuthenticate(authFrom(V, '127.0.0.1:45024')).otherKeys).toBe(EntityType.AUTH | EntityType.MON | EntityType.OSD | EntityType.MGR);
    const a = authFrom(V, '127.0.0.1:45024');
    const client = new CephxClient({ entity: 'client.admin', key: keys.get('client.admin') as string, random: () => capturedAuthenticate(a).clientChallenge });
    const s = client.monSession();
    s.request();
    expect(s.more(a.replyMore as Buffer).equals(a.requestMore as Buffer)).toBe(true);
  });

  it('a wrong key is an AuthError naming the entity', () => {
    const a = authFrom(V, '127.0.0.1:45166');
    const client = new CephxClient({ entity: 'osd.0', key: keys.get('osd.1') as string, now: () => a.startMs });
    const s = client.monSession();
    s.request();
    s.more(a.replyMore as Buffer);
    expect(() => s.done(a.done.globalId, a.done.conMode, a.done.payload)).toThrow(AuthError);
    expect(() => s.done(a.done.globalId, a.done.conMode, a.done.payload)).toThrow(/osd\.0/);
  });
});

/** mgr.x's rotating mgr secrets, from its captured GET_ROTATING_KEY exchange. */
function recoverMgrKeys(): RotatingKeys {
  const a = authFrom(V, MGR_X);
  const rotating = new RotatingKeys(EntityType.MGR);
  const { client } = replayMonHandshake(a, 'mgr.x', { rotating });
  const { sent, replies } = capturedMAuth(a.conv);
  // what our client asks next is what ceph-mgr asked: the rotating secrets (just the request header)
  expect(client.nextRenewalMs()).toBe(0);
  const ask = client.renewal() as Buffer;
  expect(ask.equals(sent[0])).toBe(true);
  expect(client.renewal()).toBeUndefined(); // not twice while the first is unanswered
  client.handleReply(replies[0].result, replies[0].payload);
  return rotating;
}

describe('the rotating mgr secret is recovered from mgr.x and verifies authorizers', () => {
  const rotating = recoverMgrKeys();

  it('holds three keys', () => {
    expect(rotating.ids()).toEqual([1n, 2n, 3n]);
    expect(rotating.current()?.id).toBe(2n);
  });

  const auths = authsTo(V, MGR_ADDR);
  it('pcap 01 has the authorizers of OSDs, the MDS, the monitor, managers and clients to mgr.x', () => {
    const types = new Set(auths.map((a) => a.clientType));
    for (const t of [EntityType.OSD, EntityType.MDS, EntityType.MON, EntityType.MGR, EntityType.CLIENT]) expect(types.has(t)).toBe(true);
  });

  it.each(auths.map((a) => [`${a.conv.client.from} (entity type ${a.clientType})`, a] as const))('%s', (_what, a) => {
    // the challenge the real manager chose, opened with the ticket's session key
    const challenge = capturedChallenge(a, rotating);
    const server = cephxServiceServer({ keys: rotating, now: () => a.startMs, random: () => challenge });
    const first = server.request(a.request.method, a.request.preferredModes, a.request.payload);
    expect(first.kind).toBe('more');
    if (first.kind !== 'more') return;
    expect(first.payload.equals(a.replyMore as Buffer)).toBe(true);
    const second = server.more(a.requestMore as Buffer);
    if (second.kind !== 'done') throw new Error(`refused: ${second.kind === 'bad' ? second.reason : second.kind}`);
    expect(second.payload.equals(a.done.payload)).toBe(true);
    expect(second.result.globalId).toBe(a.done.globalId);
    expect(second.result.conMode).toBe(ConMode.CRC);
    // the entity is the one the HELLO announced, except that a manager's own librados handle connects as a client named mgr.x
    if (second.peer.type !== EntityType.MGR || a.clientType !== EntityType.CLIENT) expect(second.peer.type).toBe(a.clientType);
    // the signatures of that connection verify with the session key the server yields
    expect(hmacSha256(second.result.sessionKey, a.serverSignature.signs).equals(a.serverSignature.signature)).toBe(true);
    expect(hmacSha256(second.result.sessionKey, a.clientSignature.signs).equals(a.clientSignature.signature)).toBe(true);
  });

  it('an OSD comes out as osd.0 with its mgr caps', () => {
    const a = authFrom(V, '127.0.0.1:40852');
    const server = cephxServiceServer({ keys: rotating, now: () => a.startMs, random: () => capturedChallenge(a, rotating) });
    server.request(a.request.method, a.request.preferredModes, a.request.payload);
    const done = server.more(a.requestMore as Buffer);
    expect(done.kind).toBe('done');
    if (done.kind !== 'done') return;
    expect(formatEntityName(done.peer)).toBe('osd.0');
    expect(done.caps).toEqual({ mgr: 'allow profile osd' });
    expect(done.result.globalId).toBe(4115n);
  });

  it('the MDS comes out as mds.a with its mgr caps', () => {
    const a = auths.find((x) => x.clientType === EntityType.MDS) as CapturedAuth;
    const server = cephxServiceServer({ keys: rotating, now: () => a.startMs, random: () => capturedChallenge(a, rotating) });
    server.request(a.request.method, a.request.preferredModes, a.request.payload);
    const done = server.more(a.requestMore as Buffer);
    if (done.kind !== 'done') throw new Error(done.kind);
    expect(formatEntityName(done.peer)).toBe('mds.a');
    expect(done.caps).toEqual({ mgr: 'allow profile mds' });
  });
});

describe("the OSD's side of its authorizer replays", () => {
  it("osd.0's mgr ticket from its monitor handshake builds the captured authorizer and answers the challenge", () => {
    const toMgr = authFrom(V, '127.0.0.1:40852');
    // osd.0's monitor session whose global id the authorizer carries
    const mon = authFrom(V, '127.0.0.1:45166');
    expect(mon.done.globalId).toBe(4115n);
    const { client } = replayMonHandshake(mon, 'osd.0');
    const ticket = client.tickets.valid(EntityType.MGR, toMgr.startMs);
    expect(ticket).toBeDefined();
    if (!ticket) return;
    const nonce = readAuthorize(new Decoder(toMgr.request.payload, decodeAuthorizerLength(toMgr.request.payload)), ticket.sessionKey).nonce;
    const s = cephxServiceSession({ globalId: client.globalId, ticket, random: () => nonce, who: 'osd.0' });
    const req = s.request();
    expect(req.payload.equals(toMgr.request.payload)).toBe(true);
    expect(s.more(toMgr.replyMore as Buffer).equals(toMgr.requestMore as Buffer)).toBe(true);
    const r = s.done(toMgr.done.globalId, toMgr.done.conMode, toMgr.done.payload);
    expect(r.sessionKey.equals(ticket.sessionKey)).toBe(true);
    expect(hmacSha256(r.sessionKey, toMgr.clientSignature.signs).equals(toMgr.clientSignature.signature)).toBe(true);
  });
});

/** Where the sealed CephXAuthorize starts in an authorizer. */
function decodeAuthorizerLength(payload: Buffer): number {
  const d = new Decoder(payload);
  decodeAuthorizerHead(d);
  return d.offset;
}
