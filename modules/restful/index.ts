// restful: an HTTPS JSON API over cluster state and commands, in the spirit
// of Ceph's restful module. Every request needs HTTP Basic auth with a user
// and the key `restful create-key <user>` printed; keys live in the module
// store (keys/<user>), so they survive restarts and failovers. TLS comes from
// server_cert/server_key (PEM text or file paths), else from the certificate
// `restful create-self-signed-cert` stored; plain HTTP only when
// allow_plain_http is set (development).
/* eslint-disable @typescript-eslint/no-explicit-any -- Ceph's JSON (maps, views, counters) is read field by field, as Ceph's modules do */
import { execFile } from 'child_process';
import * as crypto from 'crypto';
import * as fs from 'fs';
import * as http from 'http';
import * as https from 'https';
import * as os from 'os';
import * as path from 'path';
import { CommandResult, MgrModule } from '../../lib/mgr-module';
import { runCommand } from './commands';

const ERROR_CHECK = 'MGR_RESTFUL_ERROR';
const MAX_BODY_BYTES = 1 << 20;
const BIND_RETRY_MS = 3000;
const SETTINGS_POLL_MS = 2000;
const RESTART_DEBOUNCE_MS = 300;

type Json = any;

/** An HTTP error with its status; the message goes to the client as {"message": ...}. */
class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

interface CommandState {
  command: string;
  args: Record<string, unknown>;
  outb: string;
  outs: string;
  r: number | null;
}

/** A POST /request: its commands run one after another; Ceph's request JSON shape. */
class CommandsRequest {
  readonly id = crypto.randomBytes(8).toString('hex');
  readonly created = Date.now();
  running: CommandState[] = [];
  waiting: CommandState[] = [];
  finished: CommandState[] = [];
  failed: CommandState[] = [];
  done: Promise<void> = Promise.resolve();

  constructor(commands: Array<Record<string, unknown>>) {
    this.waiting = commands.map((c) => ({ command: humanify(c), args: c, outb: '', outs: '', r: null }));
  }

  isFinished(): boolean {
    return !this.running.length && !this.waiting.length;
  }

  toJSON(): Json {
    const out = (c: CommandState) => ({ command: c.command, outb: c.outb, outs: c.outs, r: c.r });
    return {
      id: this.id,
      running: this.running.map(out),
      finished: this.finished.map(out),
      waiting: this.waiting.map((c) => c.command),
      failed: this.failed.map(out),
      is_waiting: this.waiting.length > 0,
      is_finished: this.isFinished(),
      has_failed: this.failed.length > 0,
      state: !this.isFinished() ? 'pending' : this.failed.length ? 'failed' : 'success',
    };
  }
}

/** Ceph's humanify_command: "osd pool ls detail=detail". */
function humanify(c: Record<string, unknown>): string {
  const rest = Object.entries(c)
    .filter(([k]) => k !== 'prefix' && k !== 'format' && k !== 'inbuf')
    .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`);
  return [String(c.prefix ?? ''), ...rest].join(' ');
}

const OPTIONS = [
  { name: 'server_addr', type: 'str' as const, default: '127.0.0.1', desc: 'address to listen on (:: or 0.0.0.0 for every interface)' },
  { name: 'server_port', type: 'int' as const, default: 8003, min: 0, max: 65535, desc: 'port to listen on (0: a free one, published with the URI)' },
  { name: 'server_cert', type: 'str' as const, default: '', desc: 'TLS certificate: PEM text or a file path (else the one create-self-signed-cert stored)' },
  { name: 'server_key', type: 'str' as const, default: '', desc: 'TLS private key: PEM text or a file path' },
  {
    name: 'allow_plain_http',
    type: 'bool' as const,
    default: false,
    desc: 'serve plain HTTP when no certificate is configured (development only: keys travel in clear)',
  },
  { name: 'max_requests', type: 'int' as const, default: 500, min: 1, max: 100000, desc: 'finished /request entries kept for polling (oldest dropped first)' },
];

/** Per-manager value (mgr/restful/<mgr_id>/<key> in the module store) over the module-wide option, as Ceph's localized options. */
async function localOption<T>(m: MgrModule, key: string): Promise<T> {
  const local = await m.getStore(`${m.getMgrId()}/${key}`);
  if (local !== null && local !== '') {
    if (key === 'server_port') {
      const n = Number(local);
      if (Number.isInteger(n) && n >= 0 && n <= 65535) return n as T;
    } else {
      return local as T;
    }
  }
  return m.getModuleOption<T>(key);
}

/** PEM text as is; anything else is a path to read. */
function pemOrFile(value: string, what: string): string {
  if (value.includes('-----BEGIN')) return value;
  try {
    return fs.readFileSync(value, 'utf8');
  } catch (e) {
    throw new Error(`${what} ${value}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (e as Error).message}`, { cause: e });
  }
}

function run(cmd: string, args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile(cmd, args, { timeout: 60000 }, (err, _out, stderr) =>
      err ? reject(new Error(`${cmd} failed: ${String(stderr || err.message).trim()}`)) : resolve(),
    );
  });
}

export default class Restful extends MgrModule {
  static override COMMANDS = [
    { cmd: 'restful create-key name=key_name,type=CephString', desc: 'Create an API key with this name', perm: 'rw' },
    { cmd: 'restful delete-key name=key_name,type=CephString', desc: 'Delete an API key with this name', perm: 'rw' },
    { cmd: 'restful list-keys', desc: 'List all API keys', perm: 'r' },
    { cmd: 'restful create-self-signed-cert', desc: 'Create a self signed certificate (shared by every manager)', perm: 'rw' },
    { cmd: 'restful restart', desc: 'Restart API server', perm: 'rw' },
  ];
  static override MODULE_OPTIONS = OPTIONS;

  private keys = new Map<string, string>();
  private keysLoadedAt = 0;
  private readonly requests = new Map<string, CommandsRequest>();
  private stopping = false;
  private restartWake: (() => void) | null = null;
  private restartRequested = false;
  private restartTimer: NodeJS.Timeout | null = null;
  private server: http.Server | https.Server | null = null;
  private settings = '';
  private checkRaised = false;
  private uri = '';

  override async serve(): Promise<void> {
    await this.refreshKeys();
    while (!this.stopping) {
      let retry = false;
      this.restartRequested = false;
      try {
        await this.startServer();
        await this.setCheck(null);
      } catch (e) {
        const msg = (e as Error).message;
        this.log.error(`restful: ${msg}`);
        await this.setCheck(msg);
        retry = /cannot listen/.test(msg);
      }
      // Until restart (command or option change) or shutdown; a taken port is retried.
      // Until a restart is asked for (command, changed settings) or shutdown; a
      // restart asked for while starting is not lost (restartRequested). The
      // settings are also polled: the stored certificate is a store key, not an
      // option, so configNotify does not cover it.
      const retryAt = retry ? Date.now() + BIND_RETRY_MS : Infinity;
      while (!this.restartRequested && !this.stopping && Date.now() < retryAt) {
        await new Promise<void>((r) => {
          const t = setTimeout(r, Math.min(SETTINGS_POLL_MS, Math.max(0, retryAt - Date.now())));
          this.restartWake = () => {
            clearTimeout(t);
            r();
          };
        });
        this.restartWake = null;
        if (!this.restartRequested && !this.stopping && (await this.currentSettings().catch(() => this.settings)) !== this.settings) break;
      }
      await this.stopServer();
    }
  }

  override shutdown(): void {
    this.stopping = true;
    if (this.restartTimer) clearTimeout(this.restartTimer);
    this.restartWake?.();
  }

  private requestRestart(): void {
    this.restartRequested = true;
    this.restartWake?.();
  }

  override async configNotify(): Promise<void> {
    // Restart only when what the server was started with changed, and only
    // once for a burst of changes (server_cert then server_key).
    if ((await this.currentSettings()) === this.settings) return;
    if (this.restartTimer) clearTimeout(this.restartTimer);
    this.restartTimer = setTimeout(() => {
      this.restartTimer = null;
      this.requestRestart();
    }, RESTART_DEBOUNCE_MS);
  }

  private async currentSettings(): Promise<string> {
    const v = await Promise.all(['server_addr', 'server_port', 'server_cert', 'server_key', 'allow_plain_http'].map((k) => localOption(this, k)));
    const stored = await this.storedCert();
    return JSON.stringify([...v, ...stored]);
  }

  /**
   * The stored pair, as Ceph's get_localized_store: this manager's own
   * (<mgr_id>/crt, <mgr_id>/key) first, else the shared one (crt, key) that
   * create-self-signed-cert writes, so a failover finds a certificate.
   */
  private async storedCert(): Promise<[string | null, string | null]> {
    const id = this.getMgrId();
    const [lc, lk, gc, gk] = await Promise.all([this.getStore(`${id}/crt`), this.getStore(`${id}/key`), this.getStore('crt'), this.getStore('key')]);
    return lc && lk ? [lc, lk] : [gc, gk];
  }

  private async setCheck(problem: string | null): Promise<void> {
    if (problem === null) {
      if (!this.checkRaised) return;
      this.checkRaised = false;
      await this.setHealthChecks({});
      return;
    }
    this.checkRaised = true;
    await this.setHealthChecks({
      [ERROR_CHECK]: {
        severity: 'error',
        summary: `restful module cannot serve: ${problem}`,
        count: 1,
        detail: [
          'set server_cert and server_key (PEM or paths), run `restful create-self-signed-cert`, or set allow_plain_http=true for development; a taken port: change server_port',
        ],
      },
    });
  }

  private async startServer(): Promise<void> {
    this.settings = await this.currentSettings();
    const addr = await localOption<string>(this, 'server_addr');
    const port = await localOption<number>(this, 'server_port');
    const certOpt = await this.getModuleOption<string>('server_cert');
    const keyOpt = await this.getModuleOption<string>('server_key');
    let cert: string | null;
    let key: string | null;
    if (certOpt || keyOpt) {
      if (!certOpt || !keyOpt) throw new Error('server_cert and server_key must be set together');
      cert = pemOrFile(certOpt, 'server_cert');
      key = pemOrFile(keyOpt, 'server_key');
    } else {
      [cert, key] = await this.storedCert();
    }
    const handler = (req: http.IncomingMessage, res: http.ServerResponse) => void this.onRequest(req, res);
    let scheme: string;
    if (cert && key) {
      try {
        this.server = https.createServer({ cert, key }, handler);
      } catch (e) {
        throw new Error(`the TLS certificate or key is not usable: ${(e as Error).message}`, { cause: e });
      }
      scheme = 'https';
    } else if (await this.getModuleOption<boolean>('allow_plain_http')) {
      this.server = http.createServer(handler);
      scheme = 'http';
    } else {
      throw new Error('no certificate configured');
    }
    const server = this.server;
    const bound = await new Promise<number>((resolve, reject) => {
      server.once('error', (e: NodeJS.ErrnoException) =>
        reject(new Error(`cannot listen on ${addr}:${port}: ${e.code === 'EADDRINUSE' ? 'address already in use' : e.message}`)),
      );
      server.listen(port, addr, () => resolve((server.address() as { port: number }).port));
    }).catch((e) => {
      this.server = null;
      throw e;
    });
    const host = addr === '::' || addr === '0.0.0.0' ? os.hostname() : addr;
    this.uri = `${scheme}://${host.includes(':') ? `[${host}]` : host}:${bound}/`;
    await this.setUri(this.uri);
    this.log.info(`restful: serving ${scheme} on ${addr}:${bound}`);
  }

  private async stopServer(): Promise<void> {
    const s = this.server;
    this.server = null;
    if (!s) return;
    await new Promise<void>((r) => {
      s.close(() => r());
      s.closeAllConnections?.();
    });
  }

  private async refreshKeys(): Promise<void> {
    const raw = await this.getStorePrefix('keys/');
    this.keys = new Map(Object.entries(raw).map(([k, v]) => [k.slice('keys/'.length), v]));
    this.keysLoadedAt = Date.now();
  }

  /** The user of a valid Basic credential, or an HttpError 401. */
  private async authenticate(req: http.IncomingMessage): Promise<string> {
    const challenge = { 'WWW-Authenticate': 'Basic realm="ceph-restful"' };
    const h = req.headers.authorization ?? '';
    const m = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(h);
    if (!m) throw new HttpError(401, 'authentication required: HTTP Basic with a user and the key from `restful create-key <user>`', challenge);
    const decoded = Buffer.from(m[1], 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon < 0) throw new HttpError(401, 'malformed Basic credentials: expected user:key', challenge);
    const user = decoded.slice(0, colon);
    const key = decoded.slice(colon + 1);
    const matches = () => {
      const want = this.keys.get(user);
      if (want === undefined) return false;
      const a = Buffer.from(want);
      const b = Buffer.from(key);
      return a.length === b.length && crypto.timingSafeEqual(a, b);
    };
    // A key made by another manager since we loaded: look again (at most once a second).
    if (!matches() && Date.now() - this.keysLoadedAt > 1000) await this.refreshKeys();
    if (!matches()) throw new HttpError(401, 'wrong user or key', challenge);
    return user;
  }

  private async readBody(req: http.IncomingMessage): Promise<string> {
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const c of req) {
      size += c.length;
      if (size > MAX_BODY_BYTES) throw new HttpError(413, `request body over ${MAX_BODY_BYTES} bytes`);
      chunks.push(c);
    }
    return Buffer.concat(chunks).toString('utf8');
  }

  private async onRequest(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const send = (status: number, body: unknown, headers: Record<string, string> = {}) => {
      const text = JSON.stringify(body, null, 2) + '\n';
      res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text), ...headers }).end(text);
    };
    try {
      await this.authenticate(req);
      const url = new URL(req.url ?? '/', 'http://x');
      const parts = url.pathname.split('/').filter(Boolean).map(decodeURIComponent);
      const [status, body] = await this.route(req, parts, url.searchParams);
      send(status, body);
    } catch (e) {
      if (e instanceof HttpError) {
        send(e.status, { message: e.message }, e.headers);
      } else {
        this.log.error(`restful: ${req.method} ${req.url}: ${(e as Error).stack ?? e}`);
        if (!res.headersSent) send(500, { message: `internal error: ${(e as Error).message}` });
        else res.end();
      }
    }
  }

  /** Dispatch: [status, body]; unknown paths 404, known paths with another method 405. */
  private async route(req: http.IncomingMessage, p: string[], q: URLSearchParams): Promise<[number, unknown]> {
    const method = req.method ?? 'GET';
    const allow = (...methods: string[]) => {
      if (!methods.includes(method))
        throw new HttpError(405, `${method} is not allowed on /${p.join('/')} (allowed: ${methods.join(', ')})`, { Allow: methods.join(', ') });
    };
    const notFound = (what: string) => new HttpError(404, what);
    const [top, arg, ...rest] = p;
    if (rest.length) throw notFound(`no such endpoint: /${p.join('/')}`);
    switch (top) {
      case undefined:
        allow('GET');
        return [
          200,
          {
            api_version: 1,
            info: 'mgrpc restful API',
            auth: 'HTTP Basic with a user and the key from `restful create-key <user>`',
            endpoints: [
              '/server',
              '/server/<hostname>',
              '/osd',
              '/osd/<id>',
              '/pool',
              '/pool/<id>',
              '/mon',
              '/mon/<name>',
              '/config/cluster',
              '/config/osd',
              '/perf',
              '/request',
              '/request/<id>',
            ],
          },
        ];
      case 'server':
        allow('GET');
        if (arg === undefined) return [200, await this.listServers()];
        {
          const s = await this.getServer(arg);
          if (!s || !s.hostname || !(s.services ?? []).length) throw notFound(`no server '${arg}'`);
          return [200, s];
        }
      case 'osd':
        allow('GET');
        return [200, arg === undefined ? await this.osds(q) : await this.osd(arg)];
      case 'pool': {
        allow('GET');
        const pools: Json[] = (await this.get('osd_map'))?.pools ?? [];
        if (arg === undefined) return [200, pools];
        const id = this.intArg(arg, 'pool id');
        const pool = pools.find((x) => x.pool === id);
        if (!pool) throw notFound(`no pool with id ${id}`);
        return [200, pool];
      }
      case 'mon': {
        allow('GET');
        const mons = await this.mons();
        if (arg === undefined) return [200, mons];
        const mon = mons.find((x: Json) => x.name === arg);
        if (!mon) throw notFound(`no monitor '${arg}'`);
        return [200, mon];
      }
      case 'config':
        allow('GET');
        if (arg === 'cluster') return [200, (await this.get('config')) ?? {}];
        if (arg === 'osd')
          return [
            200,
            {
              flags: String((await this.get('osd_map'))?.flags ?? '')
                .split(',')
                .filter(Boolean),
            },
          ];
        throw notFound(`no such endpoint: /${p.join('/')}`);
      case 'perf': {
        allow('GET');
        if (arg !== undefined) throw notFound(`no such endpoint: /${p.join('/')}`);
        let re: RegExp | null = null;
        const d = q.get('daemon');
        if (d) {
          try {
            re = new RegExp(d);
          } catch (e) {
            throw new HttpError(400, `daemon is not a valid regular expression: ${(e as Error).message}`);
          }
        }
        const all = (await this.getAllPerfCounters()) ?? {};
        return [200, Object.fromEntries(Object.entries(all).filter(([k]) => !re || re.test(k)))];
      }
      case 'request':
        return this.requestEndpoint(req, method, arg, q, allow);
    }
    throw notFound(`no such endpoint: /${p.join('/')}`);
  }

  private intArg(v: string, what: string): number {
    if (!/^\d+$/.test(v)) throw new HttpError(400, `${what} must be a whole number, got '${v}'`);
    return Number(v);
  }

  private async osds(q: URLSearchParams): Promise<Json[]> {
    const [map, md] = await Promise.all([this.get('osd_map'), this.get('osd_metadata')]);
    let osds: Json[] = map?.osds ?? [];
    for (const f of ['up', 'in']) {
      const v = q.get(f);
      if (v === null) continue;
      if (v !== '0' && v !== '1') throw new HttpError(400, `${f} must be 0 or 1, got '${v}'`);
      osds = osds.filter((o) => Number(o[f]) === Number(v));
    }
    return osds.map((o) => ({ ...o, server: md?.[String(o.osd)]?.hostname ?? '' }));
  }

  private async osd(arg: string): Promise<Json> {
    const id = this.intArg(arg, 'OSD id');
    const [map, md, stats] = await Promise.all([this.get('osd_map'), this.getMetadata('osd', String(id)), this.get('osd_stats')]);
    const osd = (map?.osds ?? []).find((o: Json) => o.osd === id);
    if (!osd) throw new HttpError(404, `no OSD with id ${id}`);
    return { osd: { ...osd, server: md?.hostname ?? '' }, osd_metadata: md ?? {}, osd_stats: (stats?.osd_stats ?? []).find((s: Json) => s.osd === id) ?? null };
  }

  private async mons(): Promise<Json[]> {
    const [monMap, statusRaw, md] = await Promise.all([this.get('mon_map'), this.get('mon_status'), this.get('mon_metadata')]);
    let quorum: number[] | null = null;
    try {
      quorum = statusRaw ? (JSON.parse(statusRaw.json).quorum ?? null) : null;
    } catch {
      quorum = null;
    }
    return (monMap?.mons ?? []).map((m: Json) => ({
      ...m,
      in_quorum: quorum ? quorum.includes(m.rank) : null,
      leader: quorum ? quorum[0] === m.rank : null,
      server: md?.[m.name]?.hostname ?? '',
    }));
  }

  private async requestEndpoint(
    req: http.IncomingMessage,
    method: string,
    id: string | undefined,
    q: URLSearchParams,
    allow: (...m: string[]) => void,
  ): Promise<[number, unknown]> {
    if (id === undefined) {
      allow('GET', 'POST', 'DELETE');
      if (method === 'GET') return [200, [...this.requests.values()].map((r) => r.toJSON())];
      if (method === 'DELETE') {
        const gone = [...this.requests.values()].filter((r) => r.isFinished());
        for (const r of gone) this.requests.delete(r.id);
        return [200, gone.map((r) => r.toJSON())];
      }
      const text = await this.readBody(req);
      let body: unknown;
      try {
        body = JSON.parse(text);
      } catch (e) {
        throw new HttpError(400, `the body is not valid JSON: ${(e as Error).message}`);
      }
      const commands = Array.isArray(body) ? body : [body];
      if (!commands.length) throw new HttpError(400, 'no command given: POST {"prefix": "...", ...} or a list of them');
      for (const c of commands) {
        if (!c || typeof c !== 'object' || Array.isArray(c)) throw new HttpError(400, 'each command must be a JSON object such as {"prefix": "osd dump"}');
        if (typeof (c as Json).prefix !== 'string' || !(c as Json).prefix.trim()) throw new HttpError(400, 'each command needs a non-empty "prefix" string');
      }
      const r = this.submit(commands as Array<Record<string, unknown>>);
      if (q.get('wait') === '1' || q.get('wait') === 'true') await r.done;
      return [200, r.toJSON()];
    }
    allow('GET', 'DELETE');
    const r = this.requests.get(id);
    if (!r) throw new HttpError(404, `no request with id '${id}'`);
    if (method === 'DELETE') this.requests.delete(id);
    return [200, r.toJSON()];
  }

  /** Queues a request; its commands run one after another, off the HTTP path. */
  private submit(commands: Array<Record<string, unknown>>): CommandsRequest {
    const r = new CommandsRequest(commands);
    this.requests.set(r.id, r);
    r.done = (async () => {
      while (r.waiting.length) {
        const c = r.waiting.shift()!;
        r.running.push(c);
        const [code, outb, outs] = await runCommand(this, c.args, (cmd) =>
          String(cmd.prefix).startsWith('restful ') ? this.handleCommand(typeof cmd.inbuf === 'string' ? cmd.inbuf : '', cmd) : null,
        );
        Object.assign(c, { r: code, outb, outs });
        r.running = r.running.filter((x) => x !== c);
        (code === 0 ? r.finished : r.failed).push(c);
      }
    })();
    void this.trimRequests();
    return r;
  }

  private async trimRequests(): Promise<void> {
    const max = await this.getModuleOption<number>('max_requests').catch(() => 500);
    const finished = [...this.requests.values()].filter((r) => r.isFinished());
    for (const r of finished.slice(0, Math.max(0, this.requests.size - max))) this.requests.delete(r.id);
  }

  override async handleCommand(_inbuf: string, cmd: Record<string, unknown>): Promise<CommandResult> {
    const name = typeof cmd.key_name === 'string' ? cmd.key_name : '';
    switch (cmd.prefix) {
      case 'restful create-key': {
        if (!name || /[\s:/]/.test(name)) return [-22, '', `a key name must be non-empty, without spaces, ':' or '/', got ${JSON.stringify(name)}`];
        await this.refreshKeys();
        let key = this.keys.get(name);
        if (!key) {
          key = crypto.randomUUID();
          await this.setStore(`keys/${name}`, key);
          this.keys.set(name, key);
        }
        return [0, key, ''];
      }
      case 'restful delete-key':
        await this.refreshKeys();
        if (this.keys.has(name)) {
          await this.setStore(`keys/${name}`, null);
          this.keys.delete(name);
        }
        return [0, '', ''];
      case 'restful list-keys': {
        await this.refreshKeys();
        const sorted = Object.fromEntries([...this.keys.entries()].sort(([a], [b]) => a.localeCompare(b)));
        return [0, JSON.stringify(sorted, null, 4), ''];
      }
      case 'restful create-self-signed-cert': {
        const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'restful-cert-'));
        try {
          await run('openssl', [
            'req',
            '-x509',
            '-newkey',
            'rsa:2048',
            '-nodes',
            '-sha512',
            '-days',
            '3650',
            '-subj',
            '/O=IT/CN=ceph-restful',
            '-keyout',
            path.join(dir, 'key.pem'),
            '-out',
            path.join(dir, 'crt.pem'),
          ]);
          // Shared by every manager (the certificate names no host), so the
          // standby that takes over serves HTTPS too.
          await this.setStore('crt', fs.readFileSync(path.join(dir, 'crt.pem'), 'utf8'));
          await this.setStore('key', fs.readFileSync(path.join(dir, 'key.pem'), 'utf8'));
        } catch (e) {
          return [-5, '', `could not create a certificate: ${(e as Error).message}`];
        } finally {
          fs.rmSync(dir, { recursive: true, force: true });
        }
        this.requestRestart();
        return [0, 'Restarting RESTful API server...', ''];
      }
      case 'restful restart':
        this.requestRestart();
        return [0, 'Restarting RESTful API server...', ''];
    }
    return [-22, '', `Command not found '${String(cmd.prefix)}'`];
  }

  override async selfTest(): Promise<string> {
    const [r, out] = await runCommand(this, { prefix: 'osd stat' }, () => null);
    if (r !== 0) throw new Error(`osd stat answered ${r}`);
    return `restful: ${out}`;
  }
}
