// The per-call proof: a caller shows it holds its key without sending it.
//
// Each call carries `x-mgr-entity` (who) and `x-mgr-proof`:
//   v1 <issued-at ms> <nonce> <audience> <mac>
// where mac = HMAC-SHA256(the entity's secret, the entity, the audience, the
// method's path, the issued-at time and the nonce). The audience is the
// address the caller dialled (host:port), so a server at another address
// that receives a proof cannot use it against the real one; the method binds
// it to one RPC; the issued-at time bounds its life; the nonce, remembered
// by the server for that life, makes it good for one call only. The key
// itself never leaves the process (cephx's authorizer plays this part in Ceph).
import * as crypto from 'crypto';

export const ENTITY_HEADER = 'x-mgr-entity';
export const PROOF_HEADER = 'x-mgr-proof';

/** How long a proof is accepted after it was made (ms). */
export const PROOF_LIFETIME_MS = 60_000;
/** How far ahead of the server's clock a caller's clock may run (ms). */
export const PROOF_MAX_SKEW_MS = 30_000;

const VERSION = 'v1';
const NONCE_BYTES = 16;
/** Longest proof header accepted: a hostile header is refused before any work. */
const MAX_PROOF_CHARS = 512;
const MAX_ENTITY_CHARS = 128;

/** Who a caller is and how to get its key; `key` is read on every call, so a rotated key takes effect at once. */
export interface CallCredentials {
  entity: string;
  key: () => string;
}

/** Credentials with a fixed key or a getter, as CallCredentials. */
export function asCredentials(c: { entity: string; key: string | (() => string) }): CallCredentials {
  const key = c.key;
  return { entity: c.entity, key: typeof key === 'string' ? () => key : key };
}

// Decoded once per key, not per call: a manager signs and checks thousands
// of calls a second with a handful of keys. Bounded, should keys churn.
const secrets = new Map<string, Buffer>();
const MAX_SECRETS = 1024;

/** The secret bytes an entity's key (base64, as in the keyring) stands for. */
function secretOf(key: string): Buffer {
  let secret = secrets.get(key);
  if (!secret) {
    if (secrets.size >= MAX_SECRETS) secrets.clear();
    secret = Buffer.from(key, 'base64');
    secrets.set(key, secret);
  }
  return secret;
}

// Nonces are cut from a block of random bytes filled once per 256 calls:
// one call into the kernel's generator per nonce cost more than the HMAC.
const noncePool = Buffer.alloc(NONCE_BYTES * 256);
let nonceAt = noncePool.length;

/** A fresh random nonce, base64url. */
function newNonce(): string {
  if (nonceAt + NONCE_BYTES > noncePool.length) {
    crypto.randomFillSync(noncePool);
    nonceAt = 0;
  }
  const nonce = noncePool.toString('base64url', nonceAt, nonceAt + NONCE_BYTES);
  nonceAt += NONCE_BYTES;
  return nonce;
}

function mac(key: string, entity: string, audience: string, method: string, issuedAt: number, nonce: string): string {
  return crypto
    .createHmac('sha256', secretOf(key))
    .update(`mgrpc-call-${VERSION}\n${entity}\n${audience}\n${method}\n${issuedAt}\n${nonce}`)
    .digest('base64url');
}

/** The two headers proving `creds.entity` calls `method` on `audience`. */
export function signCall(creds: CallCredentials, audience: string, method: string, now = Date.now()): { entity: string; proof: string } {
  const nonce = newNonce();
  const proof = `${VERSION} ${now} ${nonce} ${audience} ${mac(creds.key(), creds.entity, audience, method, now, nonce)}`;
  return { entity: creds.entity, proof };
}

/** A proof that did not verify; the message says why and what to do, and never quotes the proof. */
export class ProofError extends Error {}

export interface VerifyOptions {
  /** The keys (base64) the entity may sign with (none when unknown). `fresh` asks to re-read them (a key may just have been added or rotated). */
  keysOf: (entity: string, fresh: boolean) => string[];
  /** Whether this server is `audience` (an address it is reached at). */
  isAudience: (audience: string) => boolean;
  lifetimeMs?: number;
  maxSkewMs?: number;
  /** Most nonces remembered at once; beyond it calls are refused until some expire. */
  maxRemembered?: number;
  now?: () => number;
}

/** Checks proofs; remembers each nonce for the proof's lifetime so no proof is accepted twice. */
export class ProofVerifier {
  private readonly seen = new Map<string, number>();
  private readonly lifetime: number;
  private readonly skew: number;
  private readonly max: number;
  private readonly now: () => number;

  constructor(private readonly opts: VerifyOptions) {
    this.lifetime = opts.lifetimeMs ?? PROOF_LIFETIME_MS;
    this.skew = opts.maxSkewMs ?? PROOF_MAX_SKEW_MS;
    this.max = opts.maxRemembered ?? 1_000_000;
    this.now = opts.now ?? Date.now;
  }

  /** The authenticated entity, or a ProofError. */
  verify(entity: string | undefined, proof: string | undefined, method: string): string {
    if (!entity || !proof)
      throw new ProofError(`no credentials: send ${ENTITY_HEADER} and ${PROOF_HEADER} (mgrctl and every mgrpc client make them from the keyring, MGR_KEYRING)`);
    if (entity.length > MAX_ENTITY_CHARS || proof.length > MAX_PROOF_CHARS) throw new ProofError('credentials too long');
    const parts = proof.split(' ');
    if (parts.length !== 5 || parts[0] !== VERSION)
      throw new ProofError(`${PROOF_HEADER} is not a ${VERSION} proof: expected '${VERSION} <issued-at> <nonce> <audience> <mac>'`);
    const [, at, nonce, audience, got] = parts;
    const issuedAt = Number(at);
    if (!/^\d{1,16}$/.test(at) || !/^[A-Za-z0-9_-]{16,64}$/.test(nonce)) throw new ProofError(`${PROOF_HEADER}: malformed issued-at time or nonce`);
    const now = this.now();
    if (issuedAt > now + this.skew) throw new ProofError(`proof of '${entity}' is from the future (${issuedAt - now} ms ahead): check the caller's clock`);
    if (issuedAt < now - this.lifetime)
      throw new ProofError(`proof of '${entity}' expired (made ${now - issuedAt} ms ago; proofs live ${this.lifetime} ms): check the caller's clock`);
    if (!this.opts.isAudience(audience)) throw new ProofError(`proof of '${entity}' is for '${audience}', not for this server`);
    if (!this.macMatches(entity, audience, method, issuedAt, nonce, got))
      throw new ProofError(`authentication failed for '${entity}': unknown entity or wrong key`);
    this.remember(`${entity} ${nonce}`, issuedAt + this.lifetime, now);
    return entity;
  }

  private macMatches(entity: string, audience: string, method: string, issuedAt: number, nonce: string, got: string): boolean {
    const have = Buffer.from(got);
    const check = (keys: string[]) =>
      keys.some((key) => {
        const want = Buffer.from(mac(key, entity, audience, method, issuedAt, nonce));
        return want.length === have.length && crypto.timingSafeEqual(want, have);
      });
    // A miss may be a key added or rotated since the keys were read: read them again once.
    return check(this.opts.keysOf(entity, false)) || check(this.opts.keysOf(entity, true));
  }

  private remember(id: string, expires: number, now: number): void {
    if (this.seen.has(id)) throw new ProofError('this proof was already used: proofs are good for one call (a replay?)');
    if (this.seen.size >= this.max) this.forget(now, true);
    if (this.seen.size >= this.max) throw new ProofError(`too many calls in ${this.lifetime} ms to remember them all; retry shortly`);
    this.seen.set(id, expires);
    this.forget(now, false);
  }

  /** Drops expired nonces: from the oldest until one is live (cheap), or all of them (`all`). */
  private forget(now: number, all: boolean): void {
    for (const [id, expires] of this.seen) {
      if (expires < now) this.seen.delete(id);
      else if (!all) return;
    }
  }

  /** Nonces remembered now (for metrics and tests). */
  get remembered(): number {
    return this.seen.size;
  }
}
