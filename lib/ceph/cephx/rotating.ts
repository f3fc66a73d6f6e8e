// Rotating secrets: the keys a service type's daemons share to open the
// tickets clients present. The monitors keep three per service (previous,
// current, next), each with an expiry, and seal tickets with the current
// one (the next once the current has expired). A daemon fetches them as
// itself (CEPHX_GET_ROTATING_KEY, the reply sealed with its own key) and
// fetches again once the monitors have rotated.
// Sources: src/auth/Auth.h (ExpiringCryptoKey, RotatingSecrets),
// src/auth/RotatingKeyRing.cc, src/auth/cephx/CephxKeyServer.cc
// (_rotate_secret, get_service_secret), src/mon/MonClient.cc
// (_check_auth_rotating).
import { DecodeError, type Decoder, type Encoder } from '../encoding';
import { decodeUTime, encodeUTime, entityTypeName, utimeToMs, type UTime } from '../types';
import { decodeCryptoKey, encodeCryptoKey, type CryptoKey } from './crypto';

/** KEY_ROTATE_NUM: previous, current, next. */
export const KEYS_KEPT = 3;

export interface ExpiringKey {
  key: CryptoKey;
  expiration: UTime;
}

/** RotatingSecrets: secret id → key, and the highest id. */
export interface RotatingSecrets {
  secrets: Map<bigint, ExpiringKey>;
  maxVer: bigint;
}

export function decodeRotatingSecrets(d: Decoder): RotatingSecrets {
  d.u8(); // struct_v 1
  const secrets = d.map(
    (k) => k.u64(),
    (v): ExpiringKey => {
      v.u8(); // struct_v 1
      const key = decodeCryptoKey(v);
      return { key, expiration: decodeUTime(v) };
    },
    8 + 1 + 12 + 8,
  );
  if (secrets.size > 16) throw new DecodeError(`rotating secrets with ${secrets.size} keys`);
  return { secrets, maxVer: d.u64() };
}

export function encodeRotatingSecrets(e: Encoder, r: RotatingSecrets): void {
  e.u8(1).map(
    [...r.secrets].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)),
    (k, id) => k.u64(id),
    (v, x) => {
      v.u8(1);
      encodeCryptoKey(v, x.key);
      encodeUTime(v, x.expiration);
    },
  );
  e.u64(r.maxVer);
}

/** How long after the current key expired to fetch again, so the monitors have rotated by then (Ceph: 30 s). */
export const DEFAULT_REFRESH_LAG_MS = 30000;

/**
 * The rotating secrets of one service type as a daemon holds them: set
 * from each GET_ROTATING_KEY reply, looked up by a ticket's secret id.
 * The holder does not fetch; its owner asks `refreshAt()` when to.
 */
export class RotatingKeys {
  private keys = new Map<bigint, ExpiringKey>();
  private updatedAt = 0;

  constructor(
    /** The service type (EntityType.MGR for a manager). */
    readonly serviceId: number,
    private readonly refreshLagMs = DEFAULT_REFRESH_LAG_MS,
  ) {}

  /** Replaces the keys with a fresh set from the monitors (at most the newest three are kept). */
  set(r: RotatingSecrets, now = Date.now()): void {
    const ids = [...r.secrets.keys()].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)).slice(-KEYS_KEPT);
    this.keys = new Map(ids.map((id) => [id, r.secrets.get(id) as ExpiringKey]));
    this.updatedAt = now;
  }

  /** The secret bytes of key `id`, if held. */
  get(id: bigint): Buffer | undefined {
    return this.keys.get(id)?.key.secret;
  }

  /** The ids held, oldest first. */
  ids(): bigint[] {
    return [...this.keys.keys()];
  }

  get size(): number {
    return this.keys.size;
  }

  /** When the keys were last set (ms), 0 if never. */
  get lastUpdate(): number {
    return this.updatedAt;
  }

  /** The current key (second oldest, as Ceph counts) and its expiry, if held. */
  current(): { id: bigint; expiresMs: number } | undefined {
    const ids = this.ids();
    const id = ids.length > 1 ? ids[1] : ids[0];
    if (id === undefined) return undefined;
    return { id, expiresMs: utimeToMs((this.keys.get(id) as ExpiringKey).expiration) };
  }

  /** When to fetch again (ms since the epoch): now if fewer than three keys, else a little after the current key expires. */
  refreshAt(): number {
    const cur = this.current();
    if (!cur || this.keys.size < KEYS_KEPT) return 0;
    return cur.expiresMs + this.refreshLagMs;
  }

  needsRefresh(now = Date.now()): boolean {
    return now >= this.refreshAt();
  }

  /** For logs: "mgr keys 7,8,9". */
  describe(): string {
    return `${entityTypeName(this.serviceId)} rotating keys ${this.ids().join(',') || '(none)'}`;
  }
}
