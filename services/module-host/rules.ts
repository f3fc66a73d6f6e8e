// Who may call what on module-host (checked once per call by the server
// bootstrap, lib/server.ts). Commands come only from a manager's
// daemon-server (mgr.<name>), which has checked the caller's caps and names
// it in the request's `entity`; nobody else can reach a module's commands
// around those checks. The listings are reads.
import type { RuleTable } from '../../lib/auth/grpc';
import { managersOnly, needs } from '../../lib/auth/rules';

export const moduleHostRules: RuleTable = {
  HandleCommand: managersOnly('module-host', 'w'),
  // daemon-server's long-lived command stream: the same rule, checked once when it opens.
  CommandStream: managersOnly('module-host', 'w'),
  ListCommands: needs('module-host', 'r'),
  ListModules: needs('module-host', 'r'),
  GetHealthChecks: needs('module-host', 'r'),
};
