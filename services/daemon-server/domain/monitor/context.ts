// What a monitor read has to work with (its validated arguments, cluster-
// state's views, the MgrMap, the time) and the small helpers every read uses.
import type { CommandResult } from '../../../../lib/gen/ceph/mgr/v1/common';
import type { MgrMap } from '../../../../lib/gen/ceph/mgr/v1/standby';

/* eslint-disable @typescript-eslint/no-explicit-any */
type Json = any;

export interface MonitorReadContext {
  args: Record<string, any>;
  /** cluster-state's Get(what), parsed. */
  get(what: string): Promise<Json>;
  /** The MgrMap (null when no standby service is configured or it is unreachable). */
  mgrMap(): Promise<MgrMap | null>;
  /** Seconds since the Unix epoch. */
  now(): number;
}

export type MonitorRead = (ctx: MonitorReadContext) => Promise<CommandResult>;

/** A view that is allowed to be missing (a cluster without file systems, logs, ...). */
export async function optional(ctx: MonitorReadContext, what: string, fallback: Json): Promise<Json> {
  try {
    return (await ctx.get(what)) ?? fallback;
  } catch {
    return fallback;
  }
}

/** The leader's mon_status, parsed from get('mon_status')'s {"json": ...}. */
export async function monStatus(ctx: MonitorReadContext): Promise<Json> {
  const raw = await optional(ctx, 'mon_status', {});
  if (raw && typeof raw.json === 'string') {
    try {
      return JSON.parse(raw.json);
    } catch {
      return {};
    }
  }
  return raw ?? {};
}
