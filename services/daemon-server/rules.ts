// Who may call what on daemon-server (checked once per call by the server
// bootstrap, lib/server.ts): any entity that proves a key of the keyring;
// what it may then do is decided per command by its mgr caps
// (domain/command-path.ts) and per daemon for sessions (domain/sessions.ts:
// `allow *` or a daemon profile).
import type { RuleTable } from '../../lib/auth/grpc';

export const daemonServerRules: RuleTable = {
  Session: () => null,
  Command: () => null,
  GetCommandDescriptions: () => null,
};
