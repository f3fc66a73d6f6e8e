// The cephx steps of captured connections (shared/ceph-wire/vectors), and
// the keys of the cluster that was captured, for the replay tests.
import * as fs from 'fs';
import * as path from 'path';
import { decodeControl, type AuthDone, type AuthRequest } from '../../control';
import { Decoder } from '../../encoding';
import { Tag } from '../../frames';
import { decodeMessageFrame, MsgType } from '../../message';
import { decodeMAuth, decodeMAuthReply, type MAuthReply } from '../../messages/mon';
import { readVector, VECTORS, type CapturedFrame, type Conversation, type Direction } from '../../testing/pcap';
import { readKeyring } from '../../../keyring';
import { decodeAuthenticate, decodeMonAuthRequest } from '../authenticate';
import { decodeAuthorizerHead, openChallenge } from '../authorizer';
import { CephxClient } from '../client';
import { RotatingKeys } from '../rotating';
import { unsealTicket } from '../ticket';
import { EntityType, formatEntityName } from '../../types';

/** Every key of capture cluster A (pcaps 01-05), by entity. */
export function captureKeys(): Map<string, string> {
  const out = new Map<string, string>();
  const files = [
    path.join(VECTORS, 'keyring'),
    ...fs
      .readdirSync(path.join(VECTORS, 'keyrings'))
      .filter((f) => f.endsWith('.keyring'))
      .map((f) => path.join(VECTORS, 'keyrings', f)),
  ];
  for (const f of files) for (const [name, e] of readKeyring(f)) out.set(name, e.key);
  return out;
}

/** One connection's authentication, as captured. */
export interface CapturedAuth {
  conv: Conversation;
  /** When the connection started (ms). */
  startMs: number;
  /** The HELLO entity type of the connecting side. */
  clientType: number;
  request: AuthRequest;
  /** AUTH_REPLY_MORE / AUTH_REQUEST_MORE payloads, if there was a second round. */
  replyMore?: Buffer;
  requestMore?: Buffer;
  done: AuthDone;
  /** Each side's AUTH_SIGNATURE and everything that side had received before it. */
  clientSignature: { signature: Buffer; signs: Buffer };
  serverSignature: { signature: Buffer; signs: Buffer };
  /** "client.admin" for a monitor handshake, the ticket's service otherwise. */
  label: string;
}

function control<T>(dir: Direction, tag: number): { frame: CapturedFrame; c: T } | undefined {
  const frame = dir.frames.find((f) => f.tag === tag);
  return frame ? { frame, c: decodeControl(tag, frame.segments[0]) as T } : undefined;
}

export function capturedAuth(conv: Conversation): CapturedAuth | undefined {
  const hello = control<{ entityType: number }>(conv.client, Tag.HELLO);
  const request = control<AuthRequest>(conv.client, Tag.AUTH_REQUEST);
  const done = control<AuthDone>(conv.server, Tag.AUTH_DONE);
  const cs = control<{ signature: Buffer }>(conv.client, Tag.AUTH_SIGNATURE);
  const ss = control<{ signature: Buffer }>(conv.server, Tag.AUTH_SIGNATURE);
  if (!hello || !request || !done || !cs || !ss) return undefined;
  const p = request.c.payload;
  const label = p[0] === 10 ? formatEntityName(decodeMonAuthRequest(new Decoder(p)).name) : `authorizer gid ${decodeAuthorizerHead(new Decoder(p)).globalId}`;
  return {
    conv,
    startMs: Math.round(conv.start * 1000),
    clientType: hello.c.entityType,
    request: request.c,
    replyMore: control<{ payload: Buffer }>(conv.server, Tag.AUTH_REPLY_MORE)?.c.payload,
    requestMore: control<{ payload: Buffer }>(conv.client, Tag.AUTH_REQUEST_MORE)?.c.payload,
    done: done.c,
    clientSignature: { signature: cs.c.signature, signs: conv.server.bytes.subarray(0, ss.frame.offset) },
    serverSignature: { signature: ss.c.signature, signs: conv.client.bytes.subarray(0, cs.frame.offset) },
    label,
  };
}

/** The captured authentications of a vector whose connecting side's source is `from` ("127.0.0.1:45076"). */
export function authFrom(vector: string, from: string): CapturedAuth {
  const conv = readVector(vector).find((c) => c.client.from === from);
  const a = conv && capturedAuth(conv);
  if (!a) throw new Error(`${vector} has no authenticated connection from ${from}`);
  return a;
}

/** Every authenticated connection of a vector to `to` ("127.0.0.1:40226"). */
export function authsTo(vector: string, to: string): CapturedAuth[] {
  return readVector(vector)
    .filter((c) => c.client.to === to)
    .map(capturedAuth)
    .filter((a): a is CapturedAuth => a !== undefined);
}

/** The MAuth payloads a connection sent, and the MAuthReplies it got. */
export function capturedMAuth(conv: Conversation): { sent: Buffer[]; replies: MAuthReply[] } {
  const msgs = (d: Direction) => d.frames.filter((f) => f.tag === Tag.MESSAGE).map((f) => decodeMessageFrame(f.segments));
  return {
    sent: msgs(conv.client)
      .filter((m) => m.type === MsgType.AUTH)
      .map((m) => decodeMAuth(m).payload),
    replies: msgs(conv.server)
      .filter((m) => m.type === MsgType.AUTH_REPLY)
      .map(decodeMAuthReply),
  };
}

/** The client challenge a captured GET_AUTH_SESSION_KEY carried, and the services it asked for. */
export function capturedAuthenticate(a: CapturedAuth) {
  const d = new Decoder(a.requestMore as Buffer);
  d.u16(); // the request header
  return decodeAuthenticate(d);
}

/** A CephxClient set up to replay a captured monitor handshake (the captured challenge, clock and services). */
export function replayClient(a: CapturedAuth, entity: string, key: string, rotating?: RotatingKeys): CephxClient {
  const sent = capturedAuthenticate(a);
  return new CephxClient({ entity, key, want: sent.otherKeys, rotating, now: () => a.startMs, random: () => sent.clientChallenge });
}

/** Runs a client through a captured monitor handshake, then through the first MAuth exchange if `mauth`. */
export function replayHandshake(client: CephxClient, a: CapturedAuth, mauth = false): void {
  const s = client.monSession(0n);
  s.request();
  s.more(a.replyMore as Buffer);
  s.done(a.done.globalId, a.done.conMode, a.done.payload);
  if (!mauth) return;
  client.renewal();
  const reply = capturedMAuth(a.conv).replies[0];
  client.handleReply(reply.result, reply.payload);
}

/** mgr.x's rotating mgr secrets in pcap 01: its handshake and GET_ROTATING_KEY exchange replayed. */
export function recoveredMgrKeys(): RotatingKeys {
  const a = authFrom('01-bringup', '127.0.0.1:45072');
  const rotating = new RotatingKeys(EntityType.MGR);
  replayHandshake(replayClient(a, 'mgr.x', captureKeys().get('mgr.x') as string, rotating), a, true);
  return rotating;
}

/** The challenge the real manager sent on a captured connection, opened with the ticket's session key. */
export function capturedChallenge(a: CapturedAuth, rotating: RotatingKeys): bigint {
  const head = decodeAuthorizerHead(new Decoder(a.request.payload));
  const info = unsealTicket(head.ticket, rotating.get(head.ticket.secretId) as Buffer);
  return openChallenge(info.sessionKey.secret, a.replyMore as Buffer);
}
