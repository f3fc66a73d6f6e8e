// zabbix: Ceph's zabbix module on our SDK. Every `interval` seconds it sends
// the items of Ceph's module (`ceph.<key>`: health, monitor/OSD/pool/PG
// counts, fill and latency, per-pool and per-OSD values, cumulative rd/wr
// ops and bytes that the template turns into rates) to each Zabbix server or
// proxy in `zabbix_host`, speaking the sender protocol itself (sender.ts).
// Every `discovery_interval` rounds it also sends low-level discovery of
// pools and OSDs. Failures raise MGR_ZABBIX_SEND_FAILED; no server raises
// MGR_ZABBIX_NO_SERVER.
/* eslint-disable @typescript-eslint/no-explicit-any -- Ceph's JSON (maps, views, counters) is read field by field, as Ceph's modules do */
import { CommandResult, MgrModule, Waiter, OptionDeclaration } from '../../lib/mgr-module';
import { SenderItem, sendAll } from './sender';

const OPTIONS: OptionDeclaration[] = [
  { name: 'zabbix_host', type: 'str', default: '', desc: 'Zabbix servers or proxies: host, host:port, [ipv6]:port, comma-separated', runtime: true },
  { name: 'zabbix_port', type: 'int', default: 10051, min: 1, max: 65535, desc: 'trapper port for entries of zabbix_host without one', runtime: true },
  { name: 'identifier', type: 'str', default: '', desc: 'the Zabbix host name the items belong to (default: ceph-<fsid>)', runtime: true },
  { name: 'interval', type: 'secs', default: 60, min: 10, desc: 'seconds between sends', runtime: true },
  { name: 'discovery_interval', type: 'uint', default: 100, min: 10, desc: 'send discovery data every this many rounds', runtime: true },
];

const HEALTH_MAPPING: Record<string, number> = { HEALTH_OK: 0, HEALTH_WARN: 1, HEALTH_ERR: 2 };
const PG_STATES = [
  'active',
  'peering',
  'clean',
  'scrubbing',
  'undersized',
  'backfilling',
  'recovering',
  'degraded',
  'inconsistent',
  'remapped',
  'backfill_toofull',
  'backfill_wait',
  'recovery_wait',
];
const REQUEST_TIMEOUT_MS = 10000;
/** Longest sleep before the loop re-reads `interval`. */
const RECHECK_MS = 2000;

export interface ZabbixServer {
  host: string;
  port: number;
}

/** Parses `zabbix_host`; throws naming the first entry that is not a host[:port]. */
export function parseZabbixHosts(value: string, defaultPort: number): ZabbixServer[] {
  const out: ZabbixServer[] = [];
  for (const raw of value.split(',')) {
    const entry = raw.trim();
    if (!entry) continue;
    let m: RegExpExecArray | null;
    let host: string;
    let port: string | undefined;
    if ((m = /^\[([0-9A-Fa-f:.]+)\](?::(\d{1,5}))?$/.exec(entry))) [, host, port] = m;
    else if ((m = /^([A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?)(?::(\d{1,5}))?$/.exec(entry))) [, host, port] = m;
    else if (/^[0-9A-Fa-f:.]+$/.test(entry) && (entry.match(/:/g) ?? []).length >= 2)
      host = entry; // bare IPv6, default port
    else throw new Error(`Zabbix host '${entry}' is not valid: use host, host:port or [ipv6]:port`);
    const p = port === undefined ? defaultPort : Number(port);
    if (!(p >= 1 && p <= 65535)) throw new Error(`Zabbix host '${entry}' has port ${port}, outside 1..65535`);
    out.push({ host, port: p });
  }
  return out;
}

/** Zabbix takes values as text; numbers as their shortest exact decimal form. */
function text(v: unknown): string {
  if (typeof v === 'number') return Number.isFinite(v) ? String(v) : '0';
  if (typeof v === 'boolean') return v ? '1' : '0';
  return String(v ?? '');
}

const avg = (xs: number[]) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : 0);

type Kind = 'data' | 'discovery';

export default class Zabbix extends MgrModule {
  static override COMMANDS = [
    { cmd: 'zabbix config-set name=key,type=CephString name=value,type=CephString', desc: 'Set a configuration value', perm: 'rw' },
    { cmd: 'zabbix config-show', desc: 'Show current configuration', perm: 'r' },
    { cmd: 'zabbix send', desc: 'Force sending data to Zabbix', perm: 'rw' },
    { cmd: 'zabbix discovery', desc: 'Discovering Zabbix data', perm: 'r' },
  ];
  static override MODULE_OPTIONS = OPTIONS;

  private running = true;
  private readonly waiter = new Waiter();
  private sending: Promise<unknown> = Promise.resolve();
  private lastSendAt = 0;
  /** Rounds since discovery last went out; null: never (so it goes with the next round). */
  private roundsSinceDiscovery: number | null = null;
  /** The last failure of each kind of send; the health check shows them all. */
  private failures: Partial<Record<Kind, string[]>> = {};
  private noServer = false;

  override async serve(): Promise<void> {
    this.log.info('zabbix module starting up');
    while (this.running) {
      const interval = await this.getModuleOption<number>('interval');
      const due = this.lastSendAt + interval * 1000 - Date.now();
      if (due <= 0) {
        this.lastSendAt = Date.now();
        try {
          const every = await this.getModuleOption<number>('discovery_interval');
          if (this.roundsSinceDiscovery === null || this.roundsSinceDiscovery >= every) {
            if ((await this.serialised(() => this.discovery())).ok) this.roundsSinceDiscovery = 0;
          }
          await this.serialised(() => this.sendData());
          if (this.roundsSinceDiscovery !== null) this.roundsSinceDiscovery++;
        } catch (e) {
          // A bug in gathering must not stop the loop; the next round tries again.
          this.log.error(`zabbix round failed unexpectedly: ${(e as Error).stack ?? e}`);
        }
        continue;
      }
      await this.waiter.wait(Math.min(due, RECHECK_MS));
    }
  }

  override shutdown(): void {
    this.running = false;
    this.waiter.wake();
  }

  override async configNotify(): Promise<void> {
    this.waiter.wake();
  }

  /** Sends run one at a time (the loop and the commands). */
  private serialised<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.sending.then(fn);
    this.sending = run.catch(() => undefined);
    return run;
  }

  private async config(): Promise<Record<string, unknown>> {
    const out: Record<string, unknown> = {};
    for (const o of OPTIONS) out[o.name] = await this.getModuleOption(o.name);
    return out;
  }

  override async handleCommand(_inbuf: string, cmd: Record<string, unknown>): Promise<CommandResult> {
    switch (cmd.prefix) {
      case 'zabbix config-show': {
        const cfg = await this.config();
        const sorted = Object.fromEntries(Object.entries(cfg).sort(([a], [b]) => (a < b ? -1 : 1)));
        return [0, JSON.stringify(sorted, null, 4), ''];
      }
      case 'zabbix config-set':
        return this.configSet(String(cmd.key ?? ''), cmd.value === undefined ? '' : String(cmd.value));
      case 'zabbix send': {
        const r = await this.serialised(() => this.sendData());
        return r.ok ? [0, r.message, ''] : [-5, '', r.message];
      }
      case 'zabbix discovery': {
        const r = await this.serialised(() => this.discovery());
        if (r.ok) this.roundsSinceDiscovery = 0;
        return r.ok ? [0, r.message, ''] : [-5, '', r.message];
      }
      default:
        return [-22, '', `Command not found '${String(cmd.prefix)}'`];
    }
  }

  private async configSet(key: string, value: string): Promise<CommandResult> {
    if (!value) return [-22, '', 'Value should not be empty or None'];
    if (!OPTIONS.some((o) => o.name === key)) return [-22, '', `zabbix has no option '${key}' (its options: ${OPTIONS.map((o) => o.name).join(', ')})`];
    if (key === 'zabbix_host') {
      try {
        if (!parseZabbixHosts(value, 10051).length) return [-22, '', 'zabbix_host names no server'];
      } catch (e) {
        return [-22, '', (e as Error).message];
      }
    }
    // Ceph's wording for the two lower bounds; other bad values get the option checker's message.
    if (key === 'interval' && /^\d+$/.test(value.trim()) && Number(value) < 10) return [-22, '', 'interval should be set to at least 10 seconds'];
    if (key === 'discovery_interval' && /^\d+$/.test(value.trim()) && Number(value) < 10) {
      return [-22, '', 'discovery_interval should not be more frequent than once in 10 regular data collection'];
    }
    try {
      await this.setModuleOption(key, value);
    } catch (e) {
      return [-22, '', (e as Error).message];
    }
    if (key === 'zabbix_host') this.roundsSinceDiscovery = null; // new servers get discovery with the next round
    return [0, `Configuration option ${key} updated`, ''];
  }

  override async selfTest(): Promise<string> {
    const data = await this.getData();
    if (!(String(data.overall_status) in HEALTH_MAPPING)) throw new Error('No valid overall_status found in data');
    if (!(Number(data.num_mon) >= 1)) throw new Error('num_mon is smaller than 1');
    return `zabbix: ${Object.keys(data).length} items`;
  }

  private async identifier(): Promise<string> {
    const id = await this.getModuleOption<string>('identifier');
    if (id) return id;
    return `ceph-${String((await this.get('mon_map'))?.fsid ?? '')}`;
  }

  /** The servers from zabbix_host, or why there are none. */
  private async servers(): Promise<{ servers: ZabbixServer[]; problem?: string }> {
    const value = await this.getModuleOption<string>('zabbix_host');
    const port = await this.getModuleOption<number>('zabbix_port');
    if (!value) return { servers: [], problem: 'Zabbix server not set, please configure using: ceph zabbix config-set zabbix_host <zabbix_host>' };
    try {
      const servers = parseZabbixHosts(value, port);
      return servers.length ? { servers } : { servers, problem: 'zabbix_host names no server' };
    } catch (e) {
      // Set with `config set` rather than config-set, which checks it.
      return { servers: [], problem: (e as Error).message };
    }
  }

  private async sendData(): Promise<{ ok: boolean; message: string }> {
    const data = await this.getData();
    return this.send('data', data, 'data');
  }

  private async discovery(): Promise<{ ok: boolean; message: string }> {
    return this.send('discovery', await this.getDiscovery(), 'discovery data');
  }

  /** Sends `ceph.<key>` items to every server; sets the health checks from the outcome. */
  private async send(kind: Kind, data: Record<string, unknown>, what: string): Promise<{ ok: boolean; message: string }> {
    const { servers, problem } = await this.servers();
    if (problem) {
      this.log.error(problem);
      this.noServer = true;
      await this.pushHealth();
      return { ok: false, message: problem };
    }
    this.noServer = false;
    const host = await this.identifier();
    const now = Date.now();
    const clock = Math.floor(now / 1000);
    const ns = (now % 1000) * 1e6;
    const items: SenderItem[] = Object.entries(data).map(([k, v]) => ({ host, key: `ceph.${k}`, value: text(v), clock, ns }));
    const errors: string[] = [];
    const done: string[] = [];
    for (const s of servers) {
      this.log.info(`sending ${items.length} items of ${what} to Zabbix server ${s.host}, port ${s.port} as host/identifier ${host}`);
      try {
        const r = await sendAll(s.host, s.port, items, REQUEST_TIMEOUT_MS);
        done.push(`${s.host}:${s.port} (processed ${r.processed} of ${r.total} in ${r.requests} request${r.requests === 1 ? '' : 's'})`);
      } catch (e) {
        this.log.error(`failed to send ${what} to Zabbix: ${(e as Error).message}`);
        errors.push((e as Error).message);
      }
    }
    if (errors.length) this.failures[kind] = errors;
    else delete this.failures[kind];
    await this.pushHealth();
    if (errors.length) return { ok: false, message: `Failed to send ${what} to Zabbix: ${errors.join('; ')}` };
    return { ok: true, message: `Sent ${items.length} items of ${what} to Zabbix as '${host}': ${done.join(', ')}` };
  }

  private async pushHealth(): Promise<void> {
    const checks: Parameters<MgrModule['setHealthChecks']>[0] = {};
    if (this.noServer) {
      checks.MGR_ZABBIX_NO_SERVER = { severity: 'warning', summary: 'No Zabbix server configured', detail: ['Configuration value zabbix_host not configured'] };
    } else {
      const detail = [...(this.failures.data ?? []), ...(this.failures.discovery ?? [])];
      if (detail.length) checks.MGR_ZABBIX_SEND_FAILED = { severity: 'warning', summary: 'Failed to send data to Zabbix', count: detail.length, detail };
    }
    await this.setHealthChecks(checks);
  }

  /** The items of Ceph's get_data(), keys without the `ceph.` prefix. */
  async getData(): Promise<Record<string, unknown>> {
    const data: Record<string, unknown> = {};
    const health = JSON.parse((await this.get('health'))?.json ?? '{}');
    data.overall_status = health.status ?? health.overall_status;
    data.overall_status_int = HEALTH_MAPPING[String(data.overall_status)];

    // mon_status as Ceph reads it; the mon map when no monitor status was put.
    const monStatus = JSON.parse((await this.get('mon_status').catch(() => null))?.json ?? '{}');
    data.num_mon = (monStatus.monmap?.mons ?? (await this.get('mon_map'))?.mons ?? []).length;

    const df = await this.get('df');
    const pools: any[] = df?.pools ?? [];
    data.num_pools = pools.length;
    data.total_used_bytes = df?.stats?.total_used_bytes ?? 0;
    data.total_bytes = df?.stats?.total_bytes ?? 0;
    data.total_avail_bytes = df?.stats?.total_avail_bytes ?? 0;
    let [wrOps, rdOps, wrBytes, rdBytes] = [0, 0, 0, 0];
    for (const p of pools) {
      const st = p.stats ?? {};
      wrOps += Number(st.wr ?? 0);
      rdOps += Number(st.rd ?? 0);
      wrBytes += Number(st.wr_bytes ?? 0);
      rdBytes += Number(st.rd_bytes ?? 0);
      data[`[${p.name},rd_bytes]`] = st.rd_bytes ?? 0;
      data[`[${p.name},wr_bytes]`] = st.wr_bytes ?? 0;
      data[`[${p.name},rd_ops]`] = st.rd ?? 0;
      data[`[${p.name},wr_ops]`] = st.wr ?? 0;
      data[`[${p.name},bytes_used]`] = st.bytes_used ?? 0;
      data[`[${p.name},stored_raw]`] = st.stored_raw ?? 0;
      data[`[${p.name},percent_used]`] = Number(st.percent_used ?? 0) * 100;
    }
    data.wr_ops = wrOps;
    data.rd_ops = rdOps;
    data.wr_bytes = wrBytes;
    data.rd_bytes = rdBytes;

    const osdMap = await this.get('osd_map');
    const osds: any[] = osdMap?.osds ?? [];
    data.num_osd = osds.length;
    data.osd_nearfull_ratio = osdMap?.nearfull_ratio;
    data.osd_full_ratio = osdMap?.full_ratio;
    data.osd_backfillfull_ratio = osdMap?.backfillfull_ratio;
    data.num_pg_temp = (osdMap?.pg_temp ?? []).length;
    let [up, inn] = [0, 0];
    for (const o of osds) {
      data[`[osd.${o.osd},up]`] = o.up;
      data[`[osd.${o.osd},in]`] = o.in;
      if (o.up === 1) up++;
      if (o.in === 1) inn++;
    }
    data.num_osd_up = up;
    data.num_osd_in = inn;

    const fill: number[] = [];
    const pgs: number[] = [];
    const apply: number[] = [];
    const commit: number[] = [];
    for (const o of (await this.get('osd_stats'))?.osd_stats ?? []) {
      if (!(Number(o.kb) > 0)) continue; // no size yet: Ceph skips it too
      const f = (Number(o.kb_used) / Number(o.kb)) * 100;
      fill.push(f);
      data[`[osd.${o.osd},osd_fill]`] = f;
      pgs.push(Number(o.num_pgs ?? 0));
      data[`[osd.${o.osd},num_pgs]`] = o.num_pgs ?? 0;
      const a = Number(o.perf_stat?.apply_latency_ns ?? 0);
      const c = Number(o.perf_stat?.commit_latency_ns ?? 0);
      apply.push(a);
      commit.push(c);
      data[`[osd.${o.osd},osd_latency_apply]`] = a / 1e6; // ns -> ms
      data[`[osd.${o.osd},osd_latency_commit]`] = c / 1e6;
    }
    if (fill.length) {
      data.osd_max_fill = Math.max(...fill);
      data.osd_min_fill = Math.min(...fill);
      data.osd_avg_fill = avg(fill);
      data.osd_max_pgs = Math.max(...pgs);
      data.osd_min_pgs = Math.min(...pgs);
      data.osd_avg_pgs = avg(pgs);
      data.osd_latency_apply_max = Math.max(...apply) / 1e6;
      data.osd_latency_apply_min = Math.min(...apply) / 1e6;
      data.osd_latency_apply_avg = avg(apply) / 1e6;
      data.osd_latency_commit_max = Math.max(...commit) / 1e6;
      data.osd_latency_commit_min = Math.min(...commit) / 1e6;
      data.osd_latency_commit_avg = avg(commit) / 1e6;
    }

    const pgStatus = await this.get('pg_status');
    for (const s of PG_STATES) data[`num_pg_${s}`] = 0;
    data.num_pg = pgStatus?.num_pgs ?? 0;
    for (const st of pgStatus?.pgs_by_state ?? []) {
      const states = String(st.state_name).split('+');
      for (const s of PG_STATES) if (states.includes(s)) (data[`num_pg_${s}`] as number) += Number(st.count);
    }
    return data;
  }

  /** Low-level discovery: pools and OSDs, each with the CRUSH root its rule takes. */
  async getDiscovery(): Promise<Record<string, string>> {
    const osdMap = await this.get('osd_map');
    const crush = await this.get('osd_map_crush');
    const rules: any[] = crush?.rules ?? [];
    const buckets = new Map<number, any>((crush?.buckets ?? []).map((b: any) => [b.id, b]));
    const takes = (rule: any) => (rule?.steps ?? []).filter((s: any) => s.op === 'take');

    const pools: Array<Record<string, unknown>> = [];
    for (const p of osdMap?.pools ?? []) {
      const rule = rules.find((r) => r.rule_id === p.crush_rule);
      const take = takes(rule).pop();
      if (take) pools.push({ '{#POOL}': p.pool_name, '{#CRUSH_RULE}': take.item_name });
    }

    // Every OSD under each root a rule takes (any depth; Ceph looks two levels down).
    const osdRoot = new Map<number, string>();
    for (const rule of rules) {
      for (const step of takes(rule)) {
        const stack = [step.item];
        const seen = new Set<number>();
        while (stack.length) {
          const id = stack.pop()!;
          if (id >= 0) {
            osdRoot.set(id, step.item_name);
            continue;
          }
          if (seen.has(id)) continue;
          seen.add(id);
          for (const it of buckets.get(id)?.items ?? []) stack.push(it.id);
        }
      }
    }
    const osds = [...osdRoot.entries()].sort(([a], [b]) => a - b).map(([id, root]) => ({ '{#OSD}': id, '{#CRUSH_RULE}': root }));
    return {
      'zabbix.pool.discovery': JSON.stringify({ data: pools }),
      'zabbix.osd.discovery': JSON.stringify({ data: osds }),
    };
  }
}
