// The tickets a client holds, one per service type (auth, mon, osd, mgr,
// mds): each with its session key, its sealed blob, and when it expires and
// should be renewed (a quarter of its validity before it expires, as Ceph
// does). Times are this machine's clock: validity is a duration, so the
// monitors' clock does not matter here.
// Source: src/auth/cephx/CephxProtocol.cc (CephXTicketHandler,
// CephXTicketManager: verify_service_ticket_reply, have_key, need_key,
// validate_tickets).
import { EntityType, entityTypeName, utimeToMs } from '../types';
import type { GrantedTicket } from './ticket-reply';
import type { TicketBlob } from './ticket';

export interface HeldTicket {
  serviceId: number;
  /** The session key's secret bytes (shared with the service). */
  sessionKey: Buffer;
  ticket: TicketBlob;
  expiresMs: number;
  renewAfterMs: number;
}

/** Service types in mask order (the bits of a want/need mask). */
const SERVICE_BITS = [EntityType.MON, EntityType.MDS, EntityType.OSD, EntityType.CLIENT, EntityType.MGR, EntityType.AUTH];

/** "mon, osd, mgr" for a mask. */
export function serviceNames(mask: number): string {
  return (
    SERVICE_BITS.filter((b) => mask & b)
      .map(entityTypeName)
      .join(', ') || 'none'
  );
}

export class TicketStore {
  private readonly held = new Map<number, HeldTicket>();

  /** Takes the tickets of a reply, received at `now`. */
  add(granted: GrantedTicket[], now: number): void {
    for (const g of granted) {
      const validityMs = utimeToMs(g.validity);
      const expiresMs = now + validityMs;
      this.held.set(g.serviceId, {
        serviceId: g.serviceId,
        sessionKey: g.sessionKey.secret,
        ticket: g.ticket,
        expiresMs,
        renewAfterMs: validityMs > 0 ? expiresMs - validityMs / 4 : Number.POSITIVE_INFINITY,
      });
    }
  }

  /** The ticket for a service, valid or not (an expired auth ticket is still presented to reclaim the global id). */
  get(serviceId: number): HeldTicket | undefined {
    return this.held.get(serviceId);
  }

  /** The ticket for a service if it has not expired. */
  valid(serviceId: number, now: number): HeldTicket | undefined {
    const t = this.held.get(serviceId);
    return t && now < t.expiresMs ? t : undefined;
  }

  /** The services of `want` whose ticket is missing or due for renewal. */
  need(want: number, now: number): number {
    let need = 0;
    for (const bit of SERVICE_BITS) {
      if (!(want & bit)) continue;
      const t = this.held.get(bit);
      if (!t || now >= t.renewAfterMs) need |= bit;
    }
    return need;
  }

  /** The earliest renewal time among the tickets of `want` (ms), or undefined when none is held. */
  nextRenewal(want: number): number | undefined {
    let at: number | undefined;
    for (const bit of SERVICE_BITS) {
      const t = want & bit ? this.held.get(bit) : undefined;
      if (t && (at === undefined || t.renewAfterMs < at)) at = t.renewAfterMs;
    }
    return at;
  }

  /** Forgets one service's ticket (a service refused it), so it is asked for again. */
  drop(serviceId: number): void {
    this.held.delete(serviceId);
  }

  clear(): void {
    this.held.clear();
  }
}
