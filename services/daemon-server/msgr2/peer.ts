// Who is at the other end of an msgr2 connection, once cephx has verified
// its ticket: the entity the monitors sealed into it and the `mgr` caps
// that came with it. As Ceph's DaemonServer (ms_handle_fast_authentication),
// the caps are the session's for life; unlike Ceph, caps this manager's
// grammar cannot read are not a refusal of the connection but no grants
// (logged): the peer may still report as itself, and is denied commands.
// The monitors are all-powerful, as in Ceph: they authenticate as `mon.`
// with a ticket they made themselves, without caps.
import type { PeerInfo } from '../../../lib/ceph/connection';
import { EntityType, entityTypeName, formatEntityName } from '../../../lib/ceph/types';
import { CapError, Grant, mayOpenSession, parseCaps } from '../domain/auth';
import { checkDaemonName } from '../domain/session';

/** An authenticated peer, in the shape daemon-server's command path takes a caller. */
export interface Peer {
  /** "osd.0", "client.admin", "mon.a". */
  entity: string;
  /** Its entity type (EntityType). */
  type: number;
  /** The ticket's caps for the mgr service, parsed ([] when none). */
  grants: Grant[];
  /** The caps as the ticket carried them. */
  caps: string;
  /** Why the caps gave no grants, when they did not parse. */
  capsError?: string;
}

export function peerOf(info: PeerInfo): Peer {
  const entity = info.name ? formatEntityName(info.name) : `${entityTypeName(info.entityType)}.?`;
  const type = info.name?.type ?? info.entityType;
  const caps = info.caps?.mgr ?? '';
  if (type === EntityType.MON) return { entity, type, grants: [{ kind: 'all' }], caps };
  try {
    return { entity, type, grants: caps ? parseCaps(caps) : [], caps };
  } catch (e) {
    if (!(e instanceof CapError)) throw e;
    return { entity, type, grants: [], caps, capsError: e.message };
  }
}

/** The daemon types that open sessions as themselves (Ceph's key_from_service with no service name). */
const DAEMON_TYPES = new Set<number>([EntityType.OSD, EntityType.MDS, EntityType.MON, EntityType.MGR]);

/**
 * The daemon name (`osd.0`, `rgw.gw1`) an MMgrOpen asks for, or why this
 * peer may not open it. An OSD, MDS or manager opens a session for itself
 * only: its ticket names it. A monitor (whose ticket names `mon.`, every
 * monitor's) opens one for any monitor; it sends service name `mon`. A
 * client opens one only under a service name (rgw, rbd-mirror, or a
 * daemon type, as a load generator does), with the caps a gRPC session
 * needs for that name ('allow *' or the daemon profile).
 */
export function sessionName(peer: Peer, open: { daemonName: string; serviceName: string }): { daemon: string } | { refused: string } {
  const typeName = entityTypeName(peer.type);
  if (DAEMON_TYPES.has(peer.type)) {
    if (open.serviceName && open.serviceName !== typeName)
      return { refused: `${peer.entity} may open a session for itself only, not as a '${open.serviceName}' daemon` };
    const daemon = `${typeName}.${open.daemonName}`;
    const bad = checkDaemonName(daemon);
    if (bad) return { refused: bad };
    if (peer.type !== EntityType.MON && daemon !== peer.entity) return { refused: `${peer.entity} may open a session for itself only, not for ${daemon}` };
    return { daemon };
  }
  if (!open.serviceName) return { refused: `${peer.entity} is a client: it opens a session only as a service daemon (with a service name)` };
  const daemon = `${open.serviceName}.${open.daemonName}`;
  const bad = checkDaemonName(daemon);
  if (bad) return { refused: bad };
  if (!mayOpenSession(peer.grants, daemon)) {
    return { refused: `${peer.entity} may not open a session for ${daemon} (needs mgr caps 'allow *' or 'allow profile ${open.serviceName}')` };
  }
  return { daemon };
}
