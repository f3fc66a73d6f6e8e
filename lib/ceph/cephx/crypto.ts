// The cryptography cephx is built on, and nothing else: AES-128-CBC with
// PKCS#7 padding and Ceph's fixed IV, the CryptoKey encoding, Ceph's
// "encode then encrypt" envelope (struct_v 1, a magic number, the payload),
// the client/server challenge answer, and HMAC-SHA256 for signatures.
// Nothing here knows of messengers or monitors, so other challenge-response
// schemes can use it as it is.
// Sources: src/auth/Crypto.{h,cc} (CryptoAESKeyHandler, CryptoKey::encode),
// src/auth/cephx/CephxProtocol.{h,cc} (encode_encrypt, decode_decrypt,
// cephx_calc_client_server_challenge), src/msg/async/ProtocolV2.cc (the
// HMAC-SHA256 of AUTH_SIGNATURE).
import * as crypto from 'crypto';
import { AuthError } from '../auth';
import { Decoder, DecodeError, Encoder } from '../encoding';
import { decodeUTime, encodeUTime, utimeNow, type UTime } from '../types';

/** CEPH_CRYPTO_NONE / CEPH_CRYPTO_AES: the key types of a CryptoKey. */
export const CryptoType = { NONE: 0, AES: 1 } as const;

/** An AES-128 key is 16 bytes. */
export const AES_KEY_BYTES = 16;

/** Ceph's fixed initialisation vector (CEPH_AES_IV): every cephx encryption uses it. */
const CEPH_AES_IV = Buffer.from('cephsageyudagreg', 'ascii');

/** AUTH_ENC_MAGIC: the first field inside every encrypted cephx blob, so a wrong key shows as a wrong magic. */
export const AUTH_ENC_MAGIC = 0xff009cad8826aa55n;

/** Bytes a decryption is allowed to work on; cephx blobs are a few hundred bytes (rotating secrets a few KB). */
export const MAX_ENCRYPTED_BYTES = 64 * 1024;

/** A key as Ceph encodes it (CryptoKey): its type, when it was made, and the secret bytes. */
export interface CryptoKey {
  type: number;
  created: UTime;
  secret: Buffer;
}

export function decodeCryptoKey(d: Decoder): CryptoKey {
  const type = d.u16();
  const created = decodeUTime(d);
  const len = d.u16();
  const secret = Buffer.from(d.bytes(len));
  if (type === CryptoType.AES && len !== AES_KEY_BYTES) throw new DecodeError(`an AES CryptoKey of ${len} bytes (AES keys have ${AES_KEY_BYTES})`);
  if (type !== CryptoType.AES && type !== CryptoType.NONE) throw new DecodeError(`a CryptoKey of unknown type ${type}`);
  return { type, created, secret };
}

export function encodeCryptoKey(e: Encoder, k: CryptoKey): void {
  e.u16(k.type);
  encodeUTime(e, k.created);
  e.u16(k.secret.length).bytes(k.secret);
}

/** A new random AES key (what a monitor makes for each session and a service for each connection secret). */
export function newCryptoKey(now = Date.now()): CryptoKey {
  return { type: CryptoType.AES, created: utimeNow(now), secret: crypto.randomBytes(AES_KEY_BYTES) };
}

/** A CryptoKey around 16 secret bytes (e.g. from a keyring's `cephSecret`). */
export function aesKey(secret: Buffer, created: UTime = { sec: 0, nsec: 0 }): CryptoKey {
  checkKey(secret);
  return { type: CryptoType.AES, created, secret };
}

function checkKey(secret: Buffer): void {
  if (secret.length !== AES_KEY_BYTES) throw new AuthError(`an AES key has ${AES_KEY_BYTES} secret bytes, not ${secret.length}`);
}

/** AES-128-CBC, PKCS#7 padding, Ceph's IV (CryptoAESKeyHandler::encrypt). */
export function aesEncrypt(secret: Buffer, plain: Uint8Array): Buffer {
  checkKey(secret);
  const c = crypto.createCipheriv('aes-128-cbc', secret, CEPH_AES_IV);
  return Buffer.concat([c.update(plain), c.final()]);
}

/** The inverse of aesEncrypt; a wrong key or tampered bytes usually fail the padding check: AuthError. */
export function aesDecrypt(secret: Buffer, cipher: Uint8Array, what = 'a cephx blob'): Buffer {
  checkKey(secret);
  if (cipher.length === 0 || cipher.length % 16 !== 0) throw new AuthError(`${what}: ${cipher.length} encrypted bytes is not a whole number of AES blocks`);
  if (cipher.length > MAX_ENCRYPTED_BYTES) throw new AuthError(`${what}: ${cipher.length} encrypted bytes is more than the ${MAX_ENCRYPTED_BYTES} allowed`);
  const c = crypto.createDecipheriv('aes-128-cbc', secret, CEPH_AES_IV);
  try {
    return Buffer.concat([c.update(cipher), c.final()]);
  } catch {
    throw new AuthError(`${what} does not decrypt with this key (bad padding): a wrong key or altered bytes`);
  }
}

/**
 * Ceph's encode_encrypt_enc_bl: u8 struct_v 1, le64 AUTH_ENC_MAGIC, then
 * the payload written by `body`, all encrypted. The result is the bare
 * ciphertext; cephx usually sends it as a bufferlist (`e.blob(...)`,
 * which is encode_encrypt).
 */
export function encodeEncrypted(secret: Buffer, body: (e: Encoder) => void): Buffer {
  const e = new Encoder().u8(1).u64(AUTH_ENC_MAGIC);
  body(e);
  return aesEncrypt(secret, e.toBuffer());
}

/**
 * Ceph's decode_decrypt_enc_bl: decrypts, checks the magic, then reads the
 * payload with `body`. A wrong key is an AuthError naming `what`; a payload
 * that does not decode is an AuthError too (the bytes were authenticated by
 * nothing but the magic, so they are treated as a failed decryption).
 */
export function decodeEncrypted<T>(secret: Buffer, cipher: Uint8Array, what: string, body: (d: Decoder) => T): T {
  const plain = aesDecrypt(secret, cipher, what);
  const d = new Decoder(plain);
  try {
    d.u8(); // struct_v, 1 in every Ceph release
    const magic = d.u64();
    if (magic !== AUTH_ENC_MAGIC) throw new AuthError(`${what} does not decrypt with this key (bad magic): a wrong key or altered bytes`);
    return body(d);
  } catch (e) {
    if (e instanceof DecodeError) throw new AuthError(`${what} decrypts but does not decode: ${e.message}`);
    throw e;
  }
}

/** Ceph's decode_decrypt: a bufferlist holding an encrypted blob, read from `d`. */
export function readEncrypted<T>(d: Decoder, secret: Buffer, what: string, body: (d: Decoder) => T): T {
  let cipher: Buffer;
  try {
    cipher = d.blob();
  } catch (e) {
    if (e instanceof DecodeError) throw new AuthError(`${what} is cut short: ${e.message}`);
    throw e;
  }
  return decodeEncrypted(secret, cipher, what, body);
}

/** Ceph's encode_encrypt: the encrypted blob as a bufferlist, written to `e`. */
export function writeEncrypted(e: Encoder, secret: Buffer, body: (e: Encoder) => void): void {
  e.blob(encodeEncrypted(secret, body));
}

/**
 * cephx_calc_client_server_challenge: proves the client holds its key
 * without sending it. {server_challenge, client_challenge} is
 * encode_encrypt-ed with the key (so the 4-byte length comes first), and
 * every whole little-endian u64 of that buffer is xor-ed together.
 */
export function challengeAnswer(secret: Buffer, serverChallenge: bigint, clientChallenge: bigint): bigint {
  const e = new Encoder();
  writeEncrypted(e, secret, (b) => b.u64(serverChallenge).u64(clientChallenge));
  const buf = e.toBuffer();
  let k = 0n;
  for (let pos = 0; pos + 8 <= buf.length; pos += 8) k ^= buf.readBigUInt64LE(pos);
  return k;
}

/** A random non-zero u64, for challenges and nonces. */
export function randomU64(): bigint {
  for (;;) {
    const v = crypto.randomBytes(8).readBigUInt64LE(0);
    if (v !== 0n) return v;
  }
}

/** HMAC-SHA256, the signature msgr2's AUTH_SIGNATURE carries (keyed by the session key's secret bytes). */
export function hmacSha256(secret: Buffer, data: Uint8Array | Uint8Array[]): Buffer {
  const h = crypto.createHmac('sha256', secret);
  for (const part of Array.isArray(data) ? data : [data]) h.update(part);
  return h.digest();
}

/** Compares two signatures or keys in constant time (false when the lengths differ). */
export function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && crypto.timingSafeEqual(a, b);
}
