// restful: Ceph's restful module (its API in api.ts): an HTTPS JSON API
// over the cluster's state, with every write a request of monitor commands
// run through sendCommand. Every path but / and /doc needs HTTP Basic auth
// with a user and the key `restful create-key <user>` printed; keys live in
// the module store (keys/<user>), so they survive restarts and failovers.
// TLS comes from server_cert/server_key (PEM text or file paths), else from
// the certificate `restful create-self-signed-cert` stored; plain HTTP only
// when allow_plain_http is set (development).
import { execFile } from 'child_process';
import * as crypto from 'crypto';
import * as fs from 'fs';
import * as http from 'http';
import * as https from 'https';
import * as os from 'os';
import * as path from 'path';
import { CommandResult, MgrModule } from '../../lib/mgr-module';
import { runCommand } from './commands';
import { ApiCall, HttpError, isPublic, RestfulApi } from './api';
import { Command, CommandsRequest } from './requests';

const ERROR_CHECK = 'MGR_RESTFUL_ERROR';
const MAX_BODY_BYTES = 1 << 20;
const BIND_RETRY_MS = 3000;
const SETTINGS_POLL_MS = 2000;
const RESTART_DEBOUNCE_MS = 300;

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
  private readonly api = new RestfulApi({
    get: (what) => this.get(what),
    getMetadata: (type, id) => this.getMetadata(type, id),
    listServers: () => this.listServers(),
    getServer: (host) => this.getServer(host),
    getAllPerfCounters: () => this.getAllPerfCounters(),
    requests: () => [...this.requests.values()],
    forget: (id) => {
      const r = this.requests.get(id);
      this.requests.delete(id);
      return r;
    },
    submit: (waves) => this.submit(waves),
    warn: (message) => this.log.warn(message),
  });
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

  /** The user of a valid Basic credential, or an HttpError 401 with Ceph's messages. */
  private async authenticate(req: http.IncomingMessage): Promise<string> {
    const challenge = { 'WWW-Authenticate': 'Basic realm="Login Required"' };
    const m = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(req.headers.authorization ?? '');
    if (!m) throw new HttpError(401, 'auth: No HTTP username/password', challenge);
    const decoded = Buffer.from(m[1], 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon < 0) throw new HttpError(401, 'auth: No HTTP username/password', challenge);
    const user = decoded.slice(0, colon);
    const key = decoded.slice(colon + 1);
    // A key made by another manager since we loaded: look again (at most once a second).
    if (!this.keys.has(user) && Date.now() - this.keysLoadedAt > 1000) await this.refreshKeys();
    const want = this.keys.get(user);
    if (want === undefined) throw new HttpError(401, 'auth: No such user', challenge);
    const a = Buffer.from(want);
    const b = Buffer.from(key);
    if (a.length !== b.length || !crypto.timingSafeEqual(a, b)) throw new HttpError(401, 'auth: Incorrect password', challenge);
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
    // Ceph's restful answers JSON with sorted keys, indented by 4.
    const send = (status: number, body: unknown, headers: Record<string, string> = {}) => {
      const text = JSON.stringify(sortKeys(body), null, 4) + '\n';
      res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text), ...headers }).end(text);
    };
    try {
      const url = new URL(req.url ?? '/', 'http://x');
      const parts = url.pathname.split('/').filter(Boolean).map(decodeURIComponent);
      if (!isPublic(parts)) await this.authenticate(req);
      const call: ApiCall = {
        method: req.method ?? 'GET',
        parts,
        query: url.searchParams,
        json: async () => {
          const text = await this.readBody(req);
          try {
            return JSON.parse(text);
          } catch {
            throw new HttpError(400, 'Bad request: malformed JSON or wrong Content-Type');
          }
        },
      };
      const [status, body] = await this.api.route(call);
      // ?wait=1: answer once the request has run (Ceph's submit_request(wait=...)).
      const wait = url.searchParams.get('wait');
      if (body instanceof CommandsRequest && wait !== null && !['', '0', 'false'].includes(wait)) await body.done;
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

  /** Queues a request; its waves run off the HTTP path (requests.ts). */
  private submit(waves: Command[][]): CommandsRequest {
    const r = new CommandsRequest(waves, (c) =>
      runCommand(this, c, (cmd) =>
        String(cmd.prefix).startsWith('restful ') ? this.handleCommand(typeof cmd.inbuf === 'string' ? cmd.inbuf : '', cmd) : null,
      ),
    );
    this.requests.set(r.id, r);
    void this.trimRequests();
    return r;
  }

  /** Ceph keeps every request until DELETE /request; we also drop the oldest finished ones past max_requests. */
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
    const [r, out] = await runCommand(this, { prefix: 'osd stat', format: 'json' }, () => null);
    if (r !== 0) throw new Error(`osd stat answered ${r}`);
    return `restful: ${out}`;
  }
}

/** A copy with every object's keys sorted (Python's json.dumps(sort_keys=True)). */
function sortKeys(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sortKeys);
  if (v && typeof v === 'object') {
    const plain = typeof (v as { toJSON?: unknown }).toJSON === 'function' ? (v as { toJSON(): unknown }).toJSON() : v;
    if (plain !== v) return sortKeys(plain);
    return Object.fromEntries(
      Object.keys(v)
        .sort()
        .map((k) => [k, sortKeys((v as Record<string, unknown>)[k])]),
    );
  }
  return v;
}
