// A module's sendCommand (Ceph's send_command to the manager) as the host's
// domain sees it: send-command.ts implements it over daemon-server's Command.

/** [retcode, stdout, stderr], as Ceph's HandleCommandResult. */
export type CommandResult = [number, string, string];

export interface ManagerCommands {
  /** Runs one command on behalf of `module`; never throws (failures are Ceph return codes with a message). */
  send(module: string, prefix: string, args: Record<string, unknown>, inbuf: string): Promise<CommandResult>;
}
