// Every command daemon-server answers without a module: the manager's own
// (native.ts, scrub.ts, devices.ts) and the monitors' (monitor/commands.ts, marked
// `monitor`: answered through the Monitors seam).
import { NATIVE_COMMANDS, NativeCommand } from './native';
import { SCRUB_COMMANDS } from './scrub';
import { MONITOR_COMMANDS } from './monitor/commands';
import { DEVICE_COMMANDS } from './devices';

export const COMMAND_TABLE: NativeCommand[] = [...NATIVE_COMMANDS, ...SCRUB_COMMANDS, ...DEVICE_COMMANDS, ...MONITOR_COMMANDS];

/**
 * mgrpc's own conveniences that Ceph's manager does not list either: the
 * mgr-local `config set key value` (the CLI's `config set` is the
 * monitors' `config set who name value`) and the command table itself.
 */
const UNLISTED = new Set(['config set', 'get_command_descriptions', 'help']);

/**
 * What a manager may advertise as its own commands (Ceph's MMgrBeacon
 * command descriptions, which the `ceph` CLI learns from the monitors):
 * never the monitors' commands, or the CLI would send them to the manager.
 */
export function advertisedCommands(table: NativeCommand[] = COMMAND_TABLE): NativeCommand[] {
  return table.filter((c) => !c.monitor && !UNLISTED.has(c.cmd.split(' name=')[0]));
}
