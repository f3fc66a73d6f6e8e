// Users and sessions of the dashboard.
//
// Users live in the module store, one key per user (`user/<name>`), so two
// commands on different users never race on one blob (Ceph keeps a single
// `accessdb_v2` document). Passwords are hashed with scrypt and a random salt.
//
// A session is a signed token (HMAC-SHA256 with a secret kept in the module
// store), not a server-side table: like Ceph's JWT it survives a failover to
// the standby manager and a restart, and any manager can check it.
import * as crypto from 'crypto';

/** scrypt cost: N=2^15 costs ~50 ms and 32 MiB here; r, p as recommended. */
const SCRYPT = { N: 1 << 15, r: 8, p: 1, maxmem: 64 * 1024 * 1024 };
const KEY_LEN = 32;

export interface StoredUser {
  username: string;
  /** `scrypt$N$r$p$<salt b64>$<hash b64>` */
  password: string;
  /** Seconds since the epoch (shown, as Ceph's lastUpdate). */
  lastUpdate: number;
  /** When the password was last set, in ms: sessions issued before it are refused. */
  passwordSetMs?: number;
  enabled: boolean;
}

function scrypt(password: string, salt: Buffer, N: number, r: number, p: number): Promise<Buffer> {
  return new Promise((resolve, reject) =>
    crypto.scrypt(password, salt, KEY_LEN, { N, r, p, maxmem: SCRYPT.maxmem }, (err, key) => (err ? reject(err) : resolve(key))),
  );
}

export async function hashPassword(password: string): Promise<string> {
  const salt = crypto.randomBytes(16);
  const key = await scrypt(password, salt, SCRYPT.N, SCRYPT.r, SCRYPT.p);
  return ['scrypt', SCRYPT.N, SCRYPT.r, SCRYPT.p, salt.toString('base64'), key.toString('base64')].join('$');
}

export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const parts = stored.split('$');
  if (parts.length !== 6 || parts[0] !== 'scrypt') return false;
  const [N, r, p] = parts.slice(1, 4).map(Number);
  const salt = Buffer.from(parts[4], 'base64');
  const want = Buffer.from(parts[5], 'base64');
  if (!(N > 1 && r > 0 && p > 0) || want.length !== KEY_LEN) return false;
  const got = await scrypt(password, salt, N, r, p);
  return crypto.timingSafeEqual(got, want);
}

/** Ceph's dashboard accepts any non-blank name without slashes or spaces. */
export function checkUsername(name: unknown): string | null {
  if (typeof name !== 'string' || !name) return 'a username is required';
  if (name.length > 128) return 'the username is longer than 128 characters';
  if (!/^[A-Za-z0-9._@-]+$/.test(name)) return `username '${name}' may only contain letters, digits and . _ @ -`;
  return null;
}

const b64url = (b: Buffer) => b.toString('base64url');

export interface SessionClaims {
  /** username */
  u: string;
  /** issued at, seconds (millisecond precision) */
  iat: number;
  /** expires at, seconds */
  exp: number;
}

export function signSession(secret: Buffer, username: string, ttlSec: number, now = Date.now() / 1000): string {
  const claims: SessionClaims = { u: username, iat: Math.round(now * 1000) / 1000, exp: Math.floor(now + ttlSec) };
  const body = b64url(Buffer.from(JSON.stringify(claims)));
  const mac = b64url(crypto.createHmac('sha256', secret).update(body).digest());
  return `${body}.${mac}`;
}

/** The claims of a well-signed, unexpired token; null otherwise. */
export function checkSession(secret: Buffer, token: string, now = Date.now() / 1000): SessionClaims | null {
  const dot = token.indexOf('.');
  if (dot <= 0) return null;
  const body = token.slice(0, dot);
  // Compare the text, not decoded bytes: base64 decoding ignores the last
  // character's spare bits, so two spellings would decode alike.
  const mac = Buffer.from(token.slice(dot + 1));
  const want = Buffer.from(b64url(crypto.createHmac('sha256', secret).update(body).digest()));
  if (mac.length !== want.length || !crypto.timingSafeEqual(mac, want)) return null;
  try {
    const c = JSON.parse(Buffer.from(body, 'base64url').toString('utf8')) as SessionClaims;
    if (typeof c.u !== 'string' || typeof c.exp !== 'number' || c.exp <= now) return null;
    return c;
  } catch {
    return null;
  }
}

export function parseCookies(header: string | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const part of (header ?? '').split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0) out[part.slice(0, eq).trim()] = decodeURIComponent(part.slice(eq + 1).trim());
  }
  return out;
}
