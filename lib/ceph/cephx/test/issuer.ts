// The monitor's half of cephx, as far as tests need it to make tickets for
// our client and server sessions: fresh rotating secrets for a service and
// service tickets sealed with them.
import { utimeNow } from '../../types';
import { newCryptoKey } from '../crypto';
import type { HeldTicket } from '../tickets';
import { capsInfo, sealTicket } from '../ticket';
import type { RotatingSecrets } from '../rotating';
import type { EntityName } from '../../types';

/** Three rotating secrets (ids 1-3), the current one valid for `ttlMs` from `now`. */
export function freshRotatingSecrets(now = Date.now(), ttlMs = 3600_000): RotatingSecrets {
  const secrets = new Map([1n, 2n, 3n].map((id, i) => [id, { key: newCryptoKey(now), expiration: utimeNow(now + i * ttlMs) }]));
  return { secrets, maxVer: 3n };
}

/** A service ticket as a client would hold it after a monitor granted it (sealed with secret `secretId`). */
export function issueTicket(
  o: { name: EntityName; globalId: bigint; serviceId: number; cap: string; secrets: RotatingSecrets; secretId?: bigint },
  now = Date.now(),
  ttlMs = 3600_000,
): HeldTicket {
  const secretId = o.secretId ?? 2n;
  const sessionKey = newCryptoKey(now);
  const ticket = sealTicket(
    {
      ticket: { name: o.name, globalId: o.globalId, created: utimeNow(now), expires: utimeNow(now + ttlMs), caps: capsInfo(o.cap), flags: 0 },
      sessionKey,
    },
    (o.secrets.secrets.get(secretId) as { key: { secret: Buffer } }).key.secret,
    secretId,
  );
  return { serviceId: o.serviceId, sessionKey: sessionKey.secret, ticket, expiresMs: now + ttlMs, renewAfterMs: now + (ttlMs * 3) / 4 };
}
