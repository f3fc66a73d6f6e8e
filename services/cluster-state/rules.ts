// Who may call what on cluster-state (checked once per call by the server
// bootstrap, lib/server.ts). Reads need `r` (client.ro reads the maps);
// writes need `w` on cluster-state: managers (mgr.<name>, allow *), the map
// feed (client.mgrpc-feed) and the standby service's MgrMap publisher
// (client.mgrpc-standby) hold it. The modules' store holds their secrets
// (session keys, password hashes, TLS keys): only managers may read it, and
// the feed that mirrors it with the monitors' copy (ceph-feed, as ceph-mgr
// keeps it in config-key), by an explicit `allow service store r`.
import type { Rule, RuleTable } from '../../lib/auth/grpc';
import { grantedExplicitly, isManager, needs } from '../../lib/auth/rules';

const read = needs('cluster-state', 'r');
const write = needs('cluster-state', 'w');
const readStore: Rule = (caller) =>
  (isManager(caller) && needs('cluster-state', 'r')(caller, undefined) === null) || grantedExplicitly(caller, 'store', 'r')
    ? null
    : "only managers (mgr.<name>) and entities with mgr caps 'allow service store r' (the map feed) may";

export const clusterStateRules: RuleTable = {
  PutMap: write,
  Get: read,
  GetOsdMap: read,
  GetFsMap: read,
  Watch: read,
  ReportDaemons: write,
  IngestPgStats: write,
  ListDaemons: read,
  SetDaemonsStale: write,
  QueryDaemons: read,
  SetHealthChecks: write,
  AppendClusterLog: write,
  GetStore: readStore,
  SetStore: write,
  ListStore: readStore,
};
