// prometheus: Ceph's prometheus exporter as a module. The module's thread
// rebuilds the /metrics body off the request path (every scrape_interval,
// and soon after a map or health change) and hands the bytes to a serving
// thread of its own (serve-thread.ts), so a scrape costs one buffer write
// however big the cluster is and never waits for a rebuild. The standby part
// answers as standby_behaviour says: an index page pointing at the active's
// URI, or an HTTP error code of choice.
import * as http from 'http';
import * as os from 'os';
import { promisify } from 'util';
import * as zlib from 'zlib';
import { CephJson, CommandResult, MgrModule, Waiter, MgrStandbyModule } from '../../lib/mgr-module';
import { collectMetrics, CollectInput } from './collect';
import { ExpositionServer } from './exposition-server';
import { CONTENT_TYPE, INDEX_PAGE, listen } from './http-common';
import { HEALTH_HISTORY_KEY, HealthHistory } from './health-history';
import { parseRbdStatsPools, selectRbdImages } from './rbd-stats';

const ERROR_CHECK = 'MGR_PROMETHEUS_ERROR';
const COLLECT_CHECK = 'MGR_PROMETHEUS_COLLECT_FAILED';
const BIND_RETRY_MS = 3000;
// Compressed off the event loop (zlib's thread pool), once per rebuild.
const gzip = promisify(zlib.gzip);

const OPTIONS = [
  { name: 'server_addr', type: 'str' as const, default: '127.0.0.1', desc: 'address to listen on (:: or 0.0.0.0 for every interface)', runtime: false },
  {
    name: 'server_port',
    type: 'int' as const,
    default: 9283,
    min: 0,
    max: 65535,
    desc: 'port to listen on (0: a free one, published with the URI)',
    runtime: false,
  },
  { name: 'scrape_interval', type: 'float' as const, default: 15, min: 0.1, max: 3600, desc: 'seconds between rebuilds of the /metrics body', runtime: true },
  { name: 'cache', type: 'bool' as const, default: true, desc: 'answer /metrics from the last body (false: rebuild per scrape)', runtime: true },
  {
    name: 'stale_cache_strategy',
    type: 'str' as const,
    default: 'log',
    enum_allowed: ['log', 'fail'],
    desc: 'when the body is older than 2 scrape intervals: log and serve it, or answer 503',
    runtime: true,
  },
  {
    name: 'exclude_perf_counters',
    type: 'bool' as const,
    default: false,
    desc: 'leave daemon perf counters out of /metrics (as Ceph Reef; at thousands of OSDs they dominate the rebuild)',
    runtime: true,
  },
  {
    name: 'rbd_stats_pools',
    type: 'str' as const,
    default: '',
    desc: 'pools whose RBD images get ceph_rbd_* metrics: pool[/namespace] entries, comma- or space-separated; * for every rbd pool',
    runtime: true,
  },
  {
    name: 'standby_behaviour',
    type: 'str' as const,
    default: 'default',
    enum_allowed: ['default', 'error'],
    desc: 'standby managers answer with an index page pointing at the active (default) or with standby_error_status_code (error)',
    runtime: true,
  },
  {
    name: 'standby_error_status_code',
    type: 'int' as const,
    default: 500,
    min: 400,
    max: 599,
    desc: 'HTTP status a standby answers with when standby_behaviour is error',
    runtime: true,
  },
];

/**
 * Ceph's get_localized_module_option: a per-manager value stored as
 * mgr/prometheus/<mgr_id>/<key> wins over the module-wide option, so two
 * managers on one host can listen on different ports.
 */
async function localOption<T>(m: MgrModule | MgrStandbyModule, key: string): Promise<T> {
  const local = await m.getStore(`${m.getMgrId()}/${key}`);
  const decl = OPTIONS.find((o) => o.name === key)!;
  if (local !== null && local !== '') {
    if (decl.type === 'int') {
      const n = Number(local);
      if (Number.isInteger(n) && n >= (decl.min ?? -Infinity) && n <= (decl.max ?? Infinity)) return n as T;
      m.log.warn(`ignoring mgr/${m.moduleName}/${m.getMgrId()}/${key}=${JSON.stringify(local)}: not a whole number in ${decl.min}..${decl.max}`);
    } else {
      return local as T;
    }
  }
  return m.getModuleOption<T>(key);
}

/** The URI others should use: a wildcard address becomes this host's name. */
export function publicUri(scheme: string, addr: string, port: number): string {
  const host = addr === '::' || addr === '0.0.0.0' || addr === '' ? os.hostname() : addr;
  return `${scheme}://${host.includes(':') ? `[${host}]` : host}:${port}/`;
}

export default class Prometheus extends MgrModule {
  static override COMMANDS = [
    { cmd: 'prometheus file_sd_config', desc: 'Return file_sd compatible prometheus config for mgr cluster', perm: 'r' },
    { cmd: 'prometheus status', desc: 'Where the exporter listens, and the age and size of the cached /metrics body', perm: 'r' },
    {
      cmd: 'healthcheck history ls name=format,type=CephChoices,strings=plain|json|json-pretty,req=false',
      desc: 'List all the healthchecks being tracked (each stays in ceph_health_detail, at 0 once cleared)',
      perm: 'r',
    },
    { cmd: 'healthcheck history clear', desc: 'Clear the healthcheck history', perm: 'rw' },
    {
      cmd: 'prometheus set-local name=mgr_id,type=CephString name=key,type=CephChoices,strings=server_addr|server_port name=value,type=CephString,req=false',
      desc: "Set (or, without a value, clear) one manager's own server_addr or server_port (mgr/prometheus/<mgr_id>/<key>); takes effect when its exporter restarts",
      perm: 'rw',
    },
  ];
  static override MODULE_OPTIONS = OPTIONS;
  // The maps whose change should show in /metrics before the next interval.
  static override NOTIFY_TYPES = ['osd_map', 'fs_map', 'mon_map', 'mgr_map', 'service_map', 'pg_summary', 'health', 'osd_metadata'];

  private stopping = false;
  private readonly waiter = new Waiter();
  private readonly bindWaiter = new Waiter();
  private server: ExpositionServer | null = null;
  /** Sizes and time of the last body handed to the serving thread (the bytes themselves moved there). */
  private bodyBytes = 0;
  private bodyGzBytes = 0;
  private bodyTime = 0;
  private collectSeconds = 0;
  /** Seconds per collection step since the module started, and how often each ran (ceph_prometheus_collect_duration_seconds). */
  private readonly durations: Record<string, { sum: number; count: number }> = {};
  private history: HealthHistory | null = null;
  private collecting: Promise<boolean> | null = null;
  /** The highest rebuild ask a scrape sent (cache off), and the highest a finished collection answered. */
  private asked = 0;
  private answered = 0;
  private lastError = '';
  private listenAddr = '';
  private listenPort = 0;
  private checks: Record<string, { severity: 'warning' | 'error'; summary: string; detail: string[] }> = {};
  /** The runtime options, read once per loop; kept as they were when cluster-state cannot answer. */
  private opts = { scrape_interval: 15, cache: true, stale_cache_strategy: 'log', exclude_perf_counters: false, rbd_stats_pools: '' };

  private async refreshOptions(): Promise<void> {
    try {
      const [scrape_interval, cache, stale_cache_strategy, exclude_perf_counters, rbd_stats_pools] = await Promise.all([
        this.getModuleOption<number>('scrape_interval'),
        this.getModuleOption<boolean>('cache'),
        this.getModuleOption<string>('stale_cache_strategy'),
        this.getModuleOption<boolean>('exclude_perf_counters'),
        this.getModuleOption<string>('rbd_stats_pools'),
      ]);
      this.opts = { scrape_interval, cache, stale_cache_strategy, exclude_perf_counters, rbd_stats_pools };
    } catch (e) {
      this.log.debug(`prometheus: options not readable, keeping the last ones: ${(e as Error).message}`);
    }
    this.tellServer();
  }

  /** The serving thread answers by the options as last read and the last error (a scrape makes no call to the host). */
  private tellServer(): void {
    this.server?.setState({
      cache: this.opts.cache,
      staleStrategy: this.opts.stale_cache_strategy,
      interval: this.opts.scrape_interval,
      lastError: this.lastError,
    });
  }

  override async serve(): Promise<void> {
    const addr = await localOption<string>(this, 'server_addr');
    const port = await localOption<number>(this, 'server_port');
    const server = new ExpositionServer({
      log: (level, message) => this.log[level](message),
      // a scrape with the cache off asks for a body begun after it arrived
      rebuild: (ask) => void this.answerAsk(ask),
    });
    this.server = server;
    await this.refreshOptions();
    let lastBindError = '';
    // Bind, retrying while the port is taken: the health check says why meanwhile.
    while (!this.stopping) {
      try {
        this.listenPort = await server.listen(addr, port);
        this.listenAddr = addr;
        break;
      } catch (e) {
        const msg = (e as Error).message;
        // Said once per distinct reason; the retries are quiet (the health check stays up).
        if (msg !== lastBindError) this.log.error(`prometheus: ${msg}; retrying every ${BIND_RETRY_MS / 1000} s`);
        lastBindError = msg;
        await this.setCheck(ERROR_CHECK, 'error', `prometheus module cannot serve: ${msg}`, [
          `set mgr/prometheus/server_port (or mgr/prometheus/${this.getMgrId()}/server_port) to a free port, or free ${addr}:${port}`,
        ]);
        await this.bindWaiter.wait(BIND_RETRY_MS);
      }
    }
    if (this.stopping) {
      await server.close();
      return;
    }
    // the URI first: once the check clears, `mgr services` already says where to scrape
    await this.setUri(publicUri('http', addr, this.listenPort));
    await this.setCheck(ERROR_CHECK, null);
    this.log.info(`prometheus: serving /metrics on ${addr}:${this.listenPort}`);

    let last = 0;
    while (!this.stopping) {
      if (server.failure) throw server.failure;
      await this.refreshOptions();
      const interval = Math.max(0.1, this.opts.scrape_interval) * 1000;
      // Notifies may arrive in bursts; one rebuild per second at most for them.
      const since = Date.now() - last;
      if (since < Math.min(1000, interval)) await this.waiter.wait(Math.min(1000, interval) - since);
      if (this.stopping) break;
      last = Date.now();
      await this.rebuild();
      await this.waiter.wait(interval);
    }
    await server.close();
  }

  override shutdown(): void {
    this.stopping = true;
    this.waiter.wake();
    this.bindWaiter.wake();
  }

  override async notify(): Promise<void> {
    this.waiter.wake();
  }

  /** A scrape's ask for a fresh body: a collection under way began before it arrived, so the next one answers it. */
  private async answerAsk(ask: number): Promise<void> {
    this.asked = Math.max(this.asked, ask);
    while (this.answered < ask && !this.stopping) await this.rebuild();
  }

  /** Reads everything, builds the body; a failure keeps the last body and raises a warning. Resolves with whether it succeeded. */
  async rebuild(): Promise<boolean> {
    if (this.collecting) return this.collecting;
    this.collecting = (async () => {
      // every scrape's ask that arrived before this point is answered by this collection
      const covers = this.asked;
      const t0 = process.hrtime.bigint();
      try {
        const input = await this.readInput();
        const t1 = process.hrtime.bigint();
        this.addDuration('read_inputs', t1 - t0);
        input.healthHistory = await this.trackHealth(input.health);
        input.collectDurations = this.durations;
        const body = Buffer.from(collectMetrics(input).render());
        const t2 = process.hrtime.bigint();
        this.addDuration('collect_metrics', t2 - t1);
        const gz = await gzip(body, { level: 6 });
        this.addDuration('gzip', process.hrtime.bigint() - t2);
        this.bodyBytes = body.length;
        this.bodyGzBytes = gz.length;
        this.bodyTime = Date.now();
        this.collectSeconds = Number(process.hrtime.bigint() - t0) / 1e9;
        this.server?.publish(body, gz, this.bodyTime, this.collectSeconds, covers);
        this.answered = Math.max(this.answered, covers);
        if (this.lastError) {
          this.lastError = '';
          this.tellServer();
          await this.setCheck(COLLECT_CHECK, null);
        }
        return true;
      } catch (e) {
        const msg = (e as Error).message;
        this.log.warn(`prometheus: collecting metrics failed: ${msg}`);
        const changed = msg !== this.lastError;
        if (changed) {
          this.lastError = msg;
          this.tellServer();
        }
        // the scrapes waiting for this collection get the last good body (or 503 with the error)
        this.server?.rebuildFailed(covers);
        this.answered = Math.max(this.answered, covers);
        if (changed) {
          await this.setCheck(COLLECT_CHECK, 'warning', 'prometheus module could not collect metrics; /metrics serves the last good body', [msg]).catch(
            () => undefined,
          );
        }
        return false;
      } finally {
        this.collecting = null;
      }
    })();
    return this.collecting;
  }

  private addDuration(step: string, ns: bigint): void {
    const d = (this.durations[step] ??= { sum: 0, count: 0 });
    d.sum += Number(ns) / 1e9;
    d.count++;
  }

  /** Folds the current health checks into the history (loaded once, saved when it changed). */
  private async trackHealth(health: { json: string } | null | undefined): Promise<CollectInput['healthHistory']> {
    if (!this.history) {
      const { history, error } = HealthHistory.parse(await this.getStore(HEALTH_HISTORY_KEY));
      if (error) this.log.warn(`prometheus: mgr/prometheus/${HEALTH_HISTORY_KEY} is unreadable (${error}); starting a new health history`);
      this.history = history;
    }
    let checks: Record<string, { severity?: string }> | null;
    try {
      checks = health ? (JSON.parse(health.json).checks ?? {}) : null;
    } catch {
      checks = null;
    }
    if (checks && this.history.check(checks)) await this.setStore(HEALTH_HISTORY_KEY, JSON.stringify(this.history));
    return this.history.toJSON();
  }

  private async readInput(): Promise<CollectInput> {
    const g = (what: string) => this.get(what);
    const [health, df, osdPoolStats, poolStats, fsMap, osdStats, monStatus, monMap, mgrMap, osdMap, osdMapCrush, osdMetadata, pgStatus, pgSummary] =
      await Promise.all(
        [
          'health',
          'df',
          'osd_pool_stats',
          'pool_stats',
          'fs_map',
          'osd_stats',
          'mon_status',
          'mon_map',
          'mgr_map',
          'osd_map',
          'osd_map_crush',
          'osd_metadata',
          'pg_status',
          'pg_summary',
        ].map(g),
      );
    const [servers, healthMetrics, perfCounters] = await Promise.all([
      this.listServers(),
      this.getDaemonHealthMetrics(),
      this.opts.exclude_perf_counters ? Promise.resolve(null) : this.getAllPerfCounters(),
    ]);
    // rbd-mirror daemons' metadata labels ceph_rbd_mirror_metadata (rarely more than a few).
    const rbdMirrorMetadata: Record<string, Record<string, string>> = {};
    for (const server of servers ?? [])
      for (const svc of server?.services ?? []) {
        if (svc.type !== 'rbd-mirror') continue;
        const md = await this.getMetadata('rbd-mirror', String(svc.id));
        if (md) rbdMirrorMetadata[String(svc.id)] = md;
      }
    // RBD images of the pools rbd_stats_pools names (only pools with the rbd application, as Ceph).
    const rbdPools = (osdMap?.pools ?? []).filter((p: CephJson) => 'rbd' in (p.application_metadata ?? {})).map((p: CephJson) => String(p.pool_name));
    const selection = parseRbdStatsPools(this.opts.rbd_stats_pools ?? '', rbdPools);
    const rbdImages = selection.size ? selectRbdImages(await this.get('rbd_image_stats'), selection) : null;
    return {
      health,
      df,
      osdPoolStats,
      poolStats,
      rbdImages,
      healthMetrics,
      rbdMirrorMetadata,
      fsMap,
      osdStats,
      monStatus,
      monMap,
      mgrMap,
      osdMap,
      osdMapCrush,
      osdMetadata,
      servers,
      pgStatus,
      pgSummary,
      perfCounters,
    };
  }

  private async setCheck(code: string, severity: 'warning' | 'error' | null, summary = '', detail: string[] = []): Promise<void> {
    if (severity === null) {
      if (!(code in this.checks)) return;
      delete this.checks[code];
    } else {
      this.checks[code] = { severity, summary, detail };
    }
    await this.setHealthChecks(Object.fromEntries(Object.entries(this.checks).map(([k, v]) => [k, { ...v, count: 1 }])));
  }

  override async handleCommand(_inbuf: string, cmd: Record<string, unknown>): Promise<CommandResult> {
    switch (cmd.prefix) {
      case 'prometheus file_sd_config': {
        // Every manager host with its port (the per-manager override first).
        const servers = await this.listServers();
        const mgrMap = await this.get('mgr_map');
        const names = new Set<string>([mgrMap?.active_name, ...(mgrMap?.standbys ?? []).map((s: CephJson) => s.name)].filter(Boolean));
        const targets: string[] = [];
        const defaultPort = await this.getModuleOption<number>('server_port');
        for (const server of servers ?? []) {
          for (const s of server.services ?? []) {
            if (s.type !== 'mgr') continue;
            names.delete(s.id);
            const local = await this.getStore(`${s.id}/server_port`);
            targets.push(`${server.hostname}:${local ?? defaultPort}`);
          }
        }
        // Managers not (yet) in list_servers: their published URI, when it is ours.
        if (names.has(this.getMgrId()) && this.listenPort) targets.push(new URL(publicUri('http', this.listenAddr, this.listenPort)).host);
        return [0, JSON.stringify([{ targets, labels: {} }]), ''];
      }
      case 'prometheus set-local': {
        const id = String(cmd.mgr_id ?? '');
        const key = String(cmd.key ?? '');
        const value = cmd.value === undefined || cmd.value === null || cmd.value === '' ? null : String(cmd.value);
        if (!/^[A-Za-z0-9_.-]+$/.test(id)) return [-22, '', `mgr_id must be a manager name such as 'x', got ${JSON.stringify(id)}`];
        if (key !== 'server_addr' && key !== 'server_port') return [-22, '', `key must be server_addr or server_port, got ${JSON.stringify(key)}`];
        if (key === 'server_port' && value !== null && !(/^\d+$/.test(value) && Number(value) <= 65535))
          return [-22, '', `server_port must be a whole number 0..65535, got ${JSON.stringify(value)}`];
        await this.setStore(`${id}/${key}`, value);
        return [0, '', value === null ? `cleared mgr/prometheus/${id}/${key}` : `set mgr/prometheus/${id}/${key} to ${value}`];
      }
      case 'healthcheck history ls': {
        const { history, error } = this.history ? { history: this.history, error: undefined } : HealthHistory.parse(await this.getStore(HEALTH_HISTORY_KEY));
        if (error) return [-5, '', `mgr/prometheus/${HEALTH_HISTORY_KEY} is unreadable: ${error}`];
        const format = String(cmd.format ?? 'plain');
        if (format === 'plain') return [0, history.toText(), ''];
        return [0, JSON.stringify(history, null, format === 'json-pretty' ? 2 : undefined), ''];
      }
      case 'healthcheck history clear':
        this.history = new HealthHistory();
        await this.setStore(HEALTH_HISTORY_KEY, '{}');
        return [0, 'healthcheck history cleared', ''];
      case 'prometheus status':
        return [
          0,
          JSON.stringify({
            listening: this.listenPort ? `${this.listenAddr}:${this.listenPort}` : null,
            body_bytes: this.bodyBytes,
            body_gzip_bytes: this.bodyGzBytes,
            body_age_seconds: this.bodyTime ? (Date.now() - this.bodyTime) / 1000 : null,
            collect_seconds: this.collectSeconds,
            last_error: this.lastError || null,
          }),
          '',
        ];
    }
    return [-22, '', `Command not found '${String(cmd.prefix)}'`];
  }

  override async selfTest(): Promise<string> {
    const body = collectMetrics(await this.readInput()).render();
    if (!body.includes('# TYPE ceph_health_status')) throw new Error('collected metrics lack ceph_health_status');
    return `prometheus: ${body.length} bytes of metrics`;
  }
}

/** On a standby manager: point at the active, or answer an error code. */
export class standby extends MgrStandbyModule {
  private stopping = false;
  private readonly waiter = new Waiter();
  private server: http.Server | null = null;

  override async serve(): Promise<void> {
    const addr = await localOption<string>(this, 'server_addr');
    const port = await localOption<number>(this, 'server_port');
    this.server = http.createServer((req, res) => void this.onRequest(req, res));
    let lastBindError = '';
    while (!this.stopping) {
      try {
        const p = await listen(this.server, addr, port);
        this.log.info(`prometheus (standby): serving on ${addr}:${p}`);
        break;
      } catch (e) {
        // A standby cannot raise health checks; the log says why.
        const msg = (e as Error).message;
        if (msg !== lastBindError)
          this.log.error(
            `prometheus (standby): ${msg}; retrying every ${BIND_RETRY_MS / 1000} s (two managers on one host need different ports: set mgr/prometheus/${this.getMgrId()}/server_port)`,
          );
        lastBindError = msg;
        await this.waiter.wait(BIND_RETRY_MS);
      }
    }
    while (!this.stopping) await this.waiter.wait(60000);
    await new Promise<void>((r) => this.server!.close(() => r()));
    this.server.closeAllConnections?.();
  }

  override shutdown(): void {
    this.stopping = true;
    this.waiter.wake();
  }

  private async onRequest(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    try {
      const path = (req.url ?? '/').split('?')[0];
      const behaviour = await this.getModuleOption<string>('standby_behaviour');
      if (behaviour === 'error') {
        const code = await this.getModuleOption<number>('standby_error_status_code');
        res.writeHead(code, { 'Content-Type': 'text/plain' }).end(`Keep on looking: this is a standby manager (${this.getMgrId()})\n`);
        return;
      }
      if (path === '/') {
        const active = await this.getActiveUri();
        res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' }).end(INDEX_PAGE(active ? `${active.replace(/\/?$/, '/')}metrics` : '/metrics'));
        return;
      }
      if (path === '/metrics') {
        // As Ceph: an empty body, so a scrape of the standby is "up" but adds no series.
        res.writeHead(200, { 'Content-Type': CONTENT_TYPE }).end('');
        return;
      }
      res.writeHead(404, { 'Content-Type': 'text/plain' }).end('Not Found\n');
    } catch (e) {
      if (!res.headersSent) res.writeHead(500, { 'Content-Type': 'text/plain' });
      res.end(`internal error: ${(e as Error).message}\n`);
    }
  }
}
