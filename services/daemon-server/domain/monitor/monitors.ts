// The seam between daemon-server and the cluster's monitors. Ceph's monitor
// commands (monitor/commands.ts) are validated, cap-checked and audited by
// daemon-server, then handed to a `Monitors`:
//
// - against the simulator, `ClusterStateMonitors` answers the reads from
//   cluster-state's maps (reads.ts, in Ceph's shapes) and sends everything
//   else (the writes: pool create/set/delete, osd out/in/down/reweight,
//   osd set/unset, config set) to the simulator's monitor endpoint
//   (MonitorService, `MGR_MON_ADDR`), which applies them to its cluster
//   and pushes the changed maps to cluster-state before it answers;
// - against a real Ceph cluster, a Monitors built on the monitor client in
//   lib/ceph sends every command to the monitors as an MMonCommand and
//   returns their MMonCommandAck (retcode, outs, outbl) as it is.
import type { CommandResult } from '../../../../lib/gen/ceph/mgr/v1/common';
import type { MgrMap } from '../../../../lib/gen/ceph/mgr/v1/standby';
import { EOPNOTSUPP } from '../../../../lib/errno';
import { CommandFailure } from '../errors';
import { MONITOR_READS } from './reads';

/**
 * One monitor command as Ceph's MMonCommand carries it. A Monitors that
 * sends it to real monitors encodes CephFloat arguments as JSON floats
 * (`1.0`, not `1`): a monitor answers "bad or missing field" to an integer
 * where it reads a double (seen with `osd reweight`).
 */
export interface MonitorCommand {
  /** e.g. "osd pool create". */
  prefix: string;
  /** The validated arguments, typed (CephInt as numbers, ...), with `format` if given. */
  args: Record<string, unknown>;
  inbuf: Uint8Array;
  /** Who asked (the monitors' audit log names them), e.g. client.admin. */
  entity: string;
}

export interface Monitors {
  /**
   * Runs one command on the monitors and resolves to their answer (retcode,
   * outbl as stdout, outs as stderr). Monitors that cannot be reached
   * reject with a gRPC UNAVAILABLE error (a call-level failure).
   */
  command(cmd: MonitorCommand): Promise<CommandResult>;
}

export interface ClusterStateMonitorsDeps {
  /** cluster-state's Get(what), parsed. */
  get(what: string): Promise<unknown>;
  /** The MgrMap, or null without a standby service. */
  mgrMap(): Promise<MgrMap | null>;
  /** Where writes go (the simulator's monitor endpoint); null: none configured. */
  writes: Monitors | null;
  /** Seconds since the Unix epoch (tests pin it). */
  now?: () => number;
}

/** The simulated cluster's monitors: reads from cluster-state, writes to the simulator. */
export class ClusterStateMonitors implements Monitors {
  constructor(private readonly d: ClusterStateMonitorsDeps) {}

  async command(cmd: MonitorCommand): Promise<CommandResult> {
    const read = MONITOR_READS[cmd.prefix];
    if (read) {
      return read({
        args: cmd.args,
        get: (what) => this.d.get(what),
        mgrMap: () => this.d.mgrMap(),
        now: this.d.now ?? (() => Date.now() / 1000),
      });
    }
    if (!this.d.writes) {
      throw new CommandFailure(
        EOPNOTSUPP,
        `'${cmd.prefix}' changes the cluster, which only its monitors do, and no monitor endpoint is configured: set MGR_MON_ADDR (the simulator's --mon-port)`,
      );
    }
    return this.d.writes.command(cmd);
  }
}
