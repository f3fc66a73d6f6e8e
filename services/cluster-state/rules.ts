// Who may call what on cluster-state (checked once per call by the server
// bootstrap, lib/server.ts). Reads need `r` (client.ro reads the maps);
// writes need `w` on cluster-state: managers (mgr.<name>, allow *), the map
// feed (client.mgrpc-feed) and the standby service's MgrMap publisher
// (client.mgrpc-standby) hold it. The modules' store holds their secrets
// (session keys, password hashes, TLS keys): only managers may read it.
import type { RuleTable } from '../../lib/auth/grpc';
import { managersOnly, needs } from '../../lib/auth/rules';

const read = needs('cluster-state', 'r');
const write = needs('cluster-state', 'w');

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
  GetStore: managersOnly('cluster-state', 'r'),
  SetStore: write,
  ListStore: managersOnly('cluster-state', 'r'),
};
