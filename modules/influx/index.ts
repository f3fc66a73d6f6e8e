// influx: pushes cluster statistics to InfluxDB 1.x every `interval`, with
// the measurements, tags and options of Ceph's influx module:
//   ceph_pool_stats      pool_name, pool_id, type_instance (a `ceph df` pool stat), fsid
//   ceph_daemon_stats    ceph_daemon, type_instance (counter path), host, fsid
//   ceph_pg_summary_osd  ceph_daemon, type_instance (PG state), host
//   ceph_pg_summary_pool pool_name, pool_id, type_instance (PG state)
// each with one integer field `value`. Commands: `influx config-set <key>
// <value>`, `influx config-show`, `influx send`. A failed write raises
// MGR_INFLUX_SEND_FAILED until a later write succeeds; no hostname set
// raises MGR_INFLUX_NO_SERVER.
import { CephJson, CommandResult, MgrModule, Waiter, OptionDeclaration } from '../../lib/mgr-module';
import { Point, escapeKey, formatField, formatPoint } from './line-protocol';
import { InfluxError, InfluxTarget, createDatabase, where, write } from './influx-client';

/** Ceph's df pool stats that the influx module sends (Pacific's list). */
export const DF_TYPES = [
  'stored',
  'kb_used',
  'dirty',
  'rd',
  'rd_bytes',
  'stored_raw',
  'wr',
  'wr_bytes',
  'objects',
  'max_avail',
  'quota_objects',
  'quota_bytes',
];
const PERFCOUNTER_HISTOGRAM = 0x10;
const REQUEST_TIMEOUT_MS = 10000;
/** Longest sleep before the loop re-reads `interval`. */
const RECHECK_MS = 2000;

const OPTIONS: OptionDeclaration[] = [
  { name: 'hostname', type: 'str', default: '', desc: 'InfluxDB server hostname', runtime: true },
  { name: 'port', type: 'int', default: 8086, min: 1, max: 65535, desc: 'InfluxDB server port', runtime: true },
  {
    name: 'database',
    type: 'str',
    default: 'ceph',
    desc: 'InfluxDB database name; created (with an 8-week retention policy) when missing if the user may',
    runtime: true,
  },
  { name: 'username', type: 'str', default: '', desc: 'username of the InfluxDB user (empty: no authentication)', runtime: true },
  { name: 'password', type: 'str', default: '', desc: 'password of the InfluxDB user', runtime: true },
  { name: 'interval', type: 'secs', default: 30, min: 5, desc: 'seconds between reports to InfluxDB', runtime: true },
  { name: 'ssl', type: 'bool', default: false, desc: 'use https to reach InfluxDB ("true" or "false")', runtime: true },
  { name: 'verify_ssl', type: 'bool', default: true, desc: "verify InfluxDB's https certificate", runtime: true },
  { name: 'threads', type: 'int', default: 5, min: 1, max: 32, desc: 'write requests in flight at once', runtime: true },
  { name: 'batch_size', type: 'int', default: 5000, min: 1, desc: 'points per write request', runtime: true },
];

export interface InfluxConfig {
  hostname: string;
  port: number;
  database: string;
  username: string;
  password: string;
  interval: number;
  ssl: boolean;
  verify_ssl: boolean;
  threads: number;
  batch_size: number;
}

/** Host names, IPv4 and (optionally bracketed) IPv6 addresses; nothing a URL could be smuggled through. */
const HOSTNAME_RE = /^(\[[0-9a-fA-F:.]+\]|[0-9a-fA-F:.]*:[0-9a-fA-F:.]*|[A-Za-z0-9]([A-Za-z0-9._-]*[A-Za-z0-9])?)$/;

export default class Influx extends MgrModule {
  static override COMMANDS = [
    { cmd: 'influx config-set name=key,type=CephString name=value,type=CephString', desc: 'Set a configuration value', perm: 'rw' },
    { cmd: 'influx config-show', desc: 'Show current configuration', perm: 'r' },
    { cmd: 'influx send', desc: 'Force sending data to Influx', perm: 'rw' },
  ];
  static override MODULE_OPTIONS = OPTIONS;

  private running = true;
  private readonly waiter = new Waiter();
  /** Sends run one at a time (the loop and `influx send`). */
  private sending: Promise<unknown> = Promise.resolve();
  private lastSendAt = 0;

  override async serve(): Promise<void> {
    this.log.info('starting influx module');
    while (this.running) {
      const interval = await this.getModuleOption<number>('interval');
      const due = this.lastSendAt + interval * 1000 - Date.now();
      if (due <= 0) {
        try {
          await this.sendOnce();
        } catch (e) {
          // A bug in gathering must not stop the loop; the next round tries again.
          this.log.error(`influx send failed unexpectedly: ${(e as Error).stack ?? e}`);
        }
        continue;
      }
      // Sleep in short slices so a changed interval applies soon even if
      // no config notification arrives.
      await this.waiter.wait(Math.min(due, RECHECK_MS));
    }
  }

  override shutdown(): void {
    this.running = false;
    this.waiter.wake();
  }

  /** A new interval takes effect now rather than after the current sleep. */
  override async configNotify(): Promise<void> {
    this.waiter.wake();
  }

  async config(): Promise<InfluxConfig> {
    const out: Record<string, unknown> = {};
    for (const o of OPTIONS) out[o.name] = await this.getModuleOption(o.name);
    return out as unknown as InfluxConfig;
  }

  override async handleCommand(_inbuf: string, cmd: Record<string, unknown>): Promise<CommandResult> {
    switch (cmd.prefix) {
      case 'influx config-show': {
        const cfg: Record<string, unknown> = { ...(await this.config()) };
        if (cfg.password) cfg.password = '********'; // never echo a secret to a read-only caller
        const sorted = Object.fromEntries(Object.entries(cfg).sort(([a], [b]) => (a < b ? -1 : 1)));
        return [0, JSON.stringify(sorted), ''];
      }
      case 'influx config-set':
        return this.configSet(String(cmd.key ?? ''), cmd.value === undefined ? '' : String(cmd.value));
      case 'influx send': {
        const r = await this.sendOnce();
        if (r.ok) return [0, r.message, ''];
        return [-5, '', r.message];
      }
      default:
        return [-22, '', `Command not found '${String(cmd.prefix)}'`];
    }
  }

  private async configSet(key: string, value: string): Promise<CommandResult> {
    if (!value) return [-22, '', 'Value should not be empty'];
    if (!OPTIONS.some((o) => o.name === key)) return [-22, '', `influx has no option '${key}' (its options: ${OPTIONS.map((o) => o.name).join(', ')})`];
    if (key === 'hostname' && !HOSTNAME_RE.test(value)) return [-22, '', `hostname must be a host name or an IP address, got '${value}'`];
    try {
      await this.setModuleOption(key, value);
    } catch (e) {
      return [-22, '', (e as Error).message];
    }
    return [0, `Configuration option ${key} updated`, ''];
  }

  override async selfTest(): Promise<string> {
    const lines = await this.gather(Date.now());
    const measurements = new Set(lines.map((l) => l.slice(0, l.indexOf(','))));
    for (const m of ['ceph_pool_stats', 'ceph_daemon_stats']) if (!measurements.has(m)) throw new Error(`no ${m} points gathered`);
    return `influx: ${lines.length} points in ${[...measurements].sort().join(', ')}`;
  }

  /** One round: gather, write in batches, set or clear the health check. */
  sendOnce(): Promise<{ ok: boolean; message: string }> {
    const run = this.sending.then(() => this.doSend());
    this.sending = run.catch(() => undefined);
    return run;
  }

  private async doSend(): Promise<{ ok: boolean; message: string }> {
    this.lastSendAt = Date.now();
    const cfg = await this.config();
    if (!cfg.hostname) {
      const message = 'No InfluxDB server configured, please set one using: ceph influx config-set hostname <hostname>';
      this.log.warn(message);
      await this.setHealthChecks({
        MGR_INFLUX_NO_SERVER: { severity: 'warning', summary: 'No InfluxDB server configured', detail: ['Configuration option hostname not set'] },
      });
      return { ok: false, message };
    }
    const target: InfluxTarget = {
      hostname: cfg.hostname,
      port: cfg.port,
      database: cfg.database,
      username: cfg.username,
      password: cfg.password,
      ssl: cfg.ssl,
      verifySsl: cfg.verify_ssl,
      timeoutMs: REQUEST_TIMEOUT_MS,
    };
    try {
      const lines = await this.gather(Date.now());
      await this.writeAll(target, lines, cfg);
      await this.setHealthChecks({});
      const message = `Sent ${lines.length} points to InfluxDB at ${where(target)} (database '${cfg.database}')`;
      this.log.debug(message);
      return { ok: true, message };
    } catch (e) {
      const err = e as Error;
      const connection = e instanceof InfluxError && e.connection;
      this.log.error(`failed to send data to InfluxDB: ${err.message}`);
      await this.setHealthChecks({
        MGR_INFLUX_SEND_FAILED: {
          severity: 'warning',
          summary: connection
            ? `Failed to send data to InfluxDB server at ${cfg.hostname}:${cfg.port} due to a connection error`
            : 'Failed to send data to InfluxDB',
          detail: [err.message],
        },
      });
      return { ok: false, message: `Failed to send data to InfluxDB: ${err.message}` };
    }
  }

  /** Batches of batch_size lines, `threads` requests in flight; a missing database is created once and the batch retried. */
  private async writeAll(t: InfluxTarget, lines: string[], cfg: InfluxConfig): Promise<void> {
    const batches: string[][] = [];
    for (let i = 0; i < lines.length; i += cfg.batch_size) batches.push(lines.slice(i, i + cfg.batch_size));
    let creating: Promise<void> | null = null;
    let next = 0;
    const worker = async () => {
      while (next < batches.length) {
        const batch = batches[next++];
        if ((await write(t, batch)).missingDb) {
          this.log.info(
            `database '${t.database}' not found; creating it (needs admin privileges; you can also create it and grant write privileges to '${t.username}')`,
          );
          creating ??= createDatabase(t).catch((e) => {
            throw new InfluxError(
              `database '${t.database}' does not exist and could not be created: ${(e as Error).message}`,
              (e as InfluxError).status ?? null,
              false,
            );
          });
          await creating;
          if ((await write(t, batch)).missingDb) throw new InfluxError(`database '${t.database}' still not found after creating it`, 404, false);
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(cfg.threads, batches.length) }, worker));
  }

  /** Every point of one round as line protocol, stamped `now` (ms). */
  async gather(now: number): Promise<string[]> {
    const lines: string[] = [];
    const add = (p: Point) => {
      const l = formatPoint(p);
      if (l !== null) lines.push(l);
    };
    const fsid = String((await this.get('mon_map'))?.fsid ?? '');
    const df = await this.get('df');
    const poolName = new Map<string, string>();
    for (const type of DF_TYPES) {
      for (const pool of df?.pools ?? []) {
        poolName.set(String(pool.id), String(pool.name));
        const v = pool.stats?.[type];
        if (typeof v !== 'number') continue;
        add({
          measurement: 'ceph_pool_stats',
          tags: { pool_name: pool.name, pool_id: pool.id, type_instance: type, fsid },
          fields: { value: { int: v } },
          time: now,
        });
      }
    }

    const hosts = await this.hostnames();
    const hostOf = async (daemon: string): Promise<string | undefined> => {
      const [type, ...rest] = daemon.split('.');
      const id = rest.join('.');
      const known = hosts[type]?.[id]?.hostname;
      if (known) return known;
      return (await this.getMetadata(type, id))?.hostname;
    };
    // The bulk of a round (hundreds of counters per daemon): each daemon's
    // tags are escaped once and each counter path once per round, and the
    // loop yields now and then so the host's heartbeat is answered.
    const perf = (await this.getAllPerfCounters()) ?? {};
    const pathTag = new Map<string, string>();
    const tail = ` ${now}`;
    let sinceYield = 0;
    for (const [daemon, counters] of Object.entries<Record<string, CephJson>>(perf)) {
      const host = (await hostOf(daemon)) ?? 'N/A';
      // Tags in key order: ceph_daemon, fsid, host, type_instance.
      const prefix = `ceph_daemon_stats,ceph_daemon=${escapeKey(daemon)}${fsid ? `,fsid=${escapeKey(fsid)}` : ''},host=${escapeKey(host)},type_instance=`;
      for (const path in counters) {
        const info = counters[path];
        if (Number(info.type) & PERFCOUNTER_HISTOGRAM) continue;
        const value = formatField({ int: info.value });
        if (typeof info.value !== 'number' || value === null) continue;
        let p = pathTag.get(path);
        if (p === undefined) pathTag.set(path, (p = `${escapeKey(path)} value=`));
        lines.push(prefix + p + value + tail);
      }
      if (++sinceYield >= 100) {
        sinceYield = 0;
        await new Promise((r) => setImmediate(r));
      }
    }

    const pgSummary = await this.get('pg_summary');
    for (const [osd, states] of Object.entries<Record<string, number>>(pgSummary?.by_osd ?? {})) {
      const host = hosts.osd?.[osd]?.hostname;
      if (!host) continue; // as Ceph: OSDs without metadata are skipped
      for (const [state, n] of Object.entries(states)) {
        add({ measurement: 'ceph_pg_summary_osd', tags: { ceph_daemon: `osd.${osd}`, type_instance: state, host }, fields: { value: { int: n } }, time: now });
      }
    }
    for (const [poolId, states] of Object.entries<Record<string, number>>(pgSummary?.by_pool ?? {})) {
      const name = poolName.get(poolId);
      if (name === undefined) continue;
      for (const [state, n] of Object.entries(states)) {
        add({
          measurement: 'ceph_pg_summary_pool',
          tags: { pool_name: name, pool_id: poolId, type_instance: state },
          fields: { value: { int: n } },
          time: now,
        });
      }
    }
    return lines;
  }

  /** Daemon metadata by type and id, from the maps (one call each, not one per daemon). */
  private async hostnames(): Promise<Record<string, Record<string, { hostname?: string }>>> {
    const [osd, mds, mon] = await Promise.all([this.get('osd_metadata'), this.get('mds_metadata'), this.get('mon_metadata')]);
    return { osd: osd ?? {}, mds: mds ?? {}, mon: mon ?? {} };
  }
}
