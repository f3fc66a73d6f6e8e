// Who may call what on the standby service (checked once per call by the
// server bootstrap, lib/server.ts). A manager beacons and resigns only as
// itself (mgr.<name> for the name in the request); another standby replica
// forwards a beacon it has checked (client.mgrpc-standby: an explicit
// `allow service standby rw`). Failing a manager and changing the enabled
// modules need `w` on mgr, as the `mgr fail` and `mgr module` commands do.
import type { Caller, Rule, RuleTable } from '../../lib/auth/grpc';
import { grantedExplicitly, needs } from '../../lib/auth/rules';

/** A standby replica forwarding a call to the leader (it checked the caller itself). */
const isReplica = (caller: Caller) => grantedExplicitly(caller, 'standby', 'w');

/** The manager named in the request itself, or a replica passing its call on. */
const asItself: Rule = (caller: Caller, request) => {
  const name = String((request as { name?: unknown } | undefined)?.name ?? '');
  if (caller.entity === `mgr.${name}` || isReplica(caller)) return null;
  return `a manager beacons and resigns only as itself: '${name}' needs mgr.${name}'s key`;
};

/** `w` on mgr, or a replica passing the call on. */
const changesManagers: Rule = (caller, request) => (isReplica(caller) ? null : needs('mgr', 'w')(caller, request));

export const standbyRules: RuleTable = {
  Beacon: asItself,
  GetMgrMap: needs('standby', 'r'),
  WatchMgrMap: needs('standby', 'r'),
  FailMgr: changesManagers,
  Resign: asItself,
  EnableModule: changesManagers,
  DisableModule: changesManagers,
};
