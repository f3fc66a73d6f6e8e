// dashboard: a web page over the cluster, in the spirit of Ceph's dashboard
// module. The active manager's instance serves the page and a JSON API that
// needs a session; the standby's instance redirects to the active (or answers
// an error code), as Ceph's `standby_behaviour`. Users are created by command
// (`dashboard ac-user-create`) and kept in the module store with scrypt hashes.
//
// The front end (frontend/) is Preact + htm with uPlot charts, served from
// node_modules as ES modules through an import map: no bundler, no CDN.
import * as crypto from 'crypto';
import * as fs from 'fs';
import type * as http from 'http';
import { CommandResult, EEXIST, EINVAL, ENOENT, MgrModule, Waiter, MgrStandbyModule } from '../../lib/mgr-module';
import { checkSession, checkUsername, hashPassword, parseCookies, signSession, StoredUser, verifyPassword } from './auth';
import { hostTable, ioSample, osdTable, poolTable, Sample, summary } from './data';
import { HttpError, listen, Listening, ListenConfig, readJson, sendJson, sendText, StaticAssets } from './http';

export const HEALTH_CODE = 'MGR_DASHBOARD_SERVER_FAILED';
const COOKIE = 'token';
/** How often a server that could not start is tried again. */
const RETRY_MS = 2000;
/** Chart history: one sample a second for five minutes. */
const HISTORY = 300;
/** Ceph's pwd_policy_min_length. */
const MIN_PASSWORD = 8;
/** Ceph's account_lockout_attempts; here the lock is temporary. */
const LOCKOUT_ATTEMPTS = 10;
const LOCKOUT_SEC = 60;

const OPTIONS = [
  { name: 'server_addr', type: 'str' as const, default: '127.0.0.1', desc: 'the address the web server listens on (:: or 0.0.0.0 for all)' },
  { name: 'server_port', type: 'int' as const, default: 8080, min: 0, max: 65535, desc: 'the HTTP port (0: any free port)' },
  {
    name: 'ssl',
    type: 'bool' as const,
    default: false,
    desc: 'serve HTTPS on ssl_server_port with the certificate set by `dashboard set-ssl-certificate` (or crt_file/key_file)',
  },
  { name: 'ssl_server_port', type: 'int' as const, default: 8443, min: 0, max: 65535, desc: 'the HTTPS port (0: any free port)' },
  { name: 'crt_file', type: 'str' as const, default: '', desc: 'PEM certificate file, used when no certificate was set by command' },
  { name: 'key_file', type: 'str' as const, default: '', desc: 'PEM private key file, used when no key was set by command' },
  {
    name: 'standby_behaviour',
    type: 'str' as const,
    default: 'redirect',
    enum_allowed: ['redirect', 'error'],
    desc: "what a standby manager's dashboard does: redirect to the active, or answer standby_error_status_code",
  },
  {
    name: 'standby_error_status_code',
    type: 'int' as const,
    default: 500,
    min: 400,
    max: 599,
    desc: 'the HTTP status a standby answers when standby_behaviour is error',
  },
  {
    name: 'jwt_token_ttl',
    type: 'secs' as const,
    default: 28800,
    min: 60,
    desc: 'how long a login session lasts, in seconds (Ceph name; the token is an HMAC-signed cookie)',
  },
];

/** Options Ceph lets one manager override (mgr/dashboard/<mgr id>/<option>). */
const LOCALIZED = new Set(['server_addr', 'server_port', 'ssl', 'ssl_server_port']);

type Base = MgrModule | MgrStandbyModule;

/**
 * An option, localized first: the store key `<mgr id>/<name>` (Ceph's
 * `mgr/dashboard/<id>/server_port` name) lets two managers on one host use
 * different ports.
 */
async function option<T>(m: Base, name: string): Promise<T> {
  if (LOCALIZED.has(name)) {
    const local = await m.getStore(`${m.getMgrId()}/${name}`);
    if (local !== null && local !== '') {
      const decl = OPTIONS.find((o) => o.name === name)!;
      if (decl.type === 'int') {
        const n = Number(local);
        if (Number.isInteger(n) && n >= 0 && n <= 65535) return n as T;
        m.log.warn(`ignoring mgr/dashboard/${m.getMgrId()}/${name}=${local}: not a port number`);
      } else if (decl.type === 'bool') {
        return /^(true|1|yes|on)$/i.test(local) as unknown as T;
      } else {
        return local as T;
      }
    }
  }
  return m.getModuleOption<T>(name);
}

async function listenConfig(m: Base): Promise<ListenConfig> {
  const ssl = await option<boolean>(m, 'ssl');
  const cfg: ListenConfig = { addr: await option<string>(m, 'server_addr'), port: await option<number>(m, ssl ? 'ssl_server_port' : 'server_port'), ssl };
  if (ssl) {
    const id = m.getMgrId();
    const fromStore = async (k: string) => (await m.getStore(`${id}/${k}`)) ?? (await m.getStore(k));
    const fromFile = async (opt: string) => {
      const file = await m.getModuleOption<string>(opt);
      if (!file) return undefined;
      try {
        return fs.readFileSync(file, 'utf8');
      } catch (e) {
        throw new Error(`cannot read ${opt} ${file}: ${(e as Error).message}`, { cause: e });
      }
    };
    cfg.cert = (await fromStore('crt')) ?? (await fromFile('crt_file'));
    cfg.key = (await fromStore('key')) ?? (await fromFile('key_file'));
    if (!cfg.cert || !cfg.key) {
      throw new Error(
        'ssl is true but there is no certificate and key: set them with `dashboard set-ssl-certificate -i <crt>` and `dashboard set-ssl-certificate-key -i <key>` (or crt_file/key_file), or set ssl to false',
      );
    }
  }
  return cfg;
}

const fingerprint = (cfg: ListenConfig) => crypto.createHash('sha256').update(JSON.stringify(cfg)).digest('hex');

/** Keeps one server listening with the current configuration; shared by the active and standby parts. */
class ServerKeeper {
  current: Listening | null = null;
  private key = '';
  lastError = '';
  private stopping = false;
  private readonly waiter = new Waiter();
  recheck = true;

  constructor(
    private m: Base,
    private handler: (req: http.IncomingMessage, res: http.ServerResponse) => Promise<void>,
    private onUp: (l: Listening) => Promise<void>,
    private onDown: (why: string) => Promise<void>,
  ) {}

  wake(): void {
    this.recheck = true;
    this.waiter.wake();
  }

  stop(): void {
    this.stopping = true;
    this.waiter.wake();
  }

  /** Runs until stop(): (re)binds when the configuration changes or binding failed; `tick` runs every second. */
  async run(tick: () => Promise<void>): Promise<void> {
    let nextTry = 0;
    while (!this.stopping) {
      if (this.recheck || (!this.current && Date.now() >= nextTry)) {
        this.recheck = false;
        try {
          await this.ensure();
        } catch (e) {
          const why = (e as Error).message;
          if (why !== this.lastError) this.m.log.error(`web server not started: ${why} (retrying every ${RETRY_MS / 1000} s)`);
          this.lastError = why;
          await this.onDown(why).catch(() => undefined);
          nextTry = Date.now() + RETRY_MS;
        }
      }
      await tick().catch((e) => this.m.log.debug(`tick failed: ${(e as Error).message}`));
      await this.waiter.wait(1000);
    }
    await this.current?.close();
    this.current = null;
  }

  private async ensure(): Promise<void> {
    const cfg = await listenConfig(this.m);
    const key = fingerprint(cfg);
    if (this.current && key === this.key) return;
    if (this.current) {
      this.m.log.info('configuration changed: restarting the web server');
      await this.current.close();
      this.current = null;
    }
    const l = await listen(cfg, this.handler, (e) => this.m.log.warn(`web server: ${e.message}`));
    this.current = l;
    this.key = key;
    this.lastError = '';
    this.m.log.info(`serving on ${l.url}`);
    await this.onUp(l);
  }
}

class Sessions {
  private secret: Buffer | null = null;
  private users: { at: number; map: Map<string, StoredUser> } | null = null;
  /** Logged-out tokens until they expire (per manager; a failover forgets them, as the tokens' TTL bounds). */
  private revoked = new Map<string, number>();
  private failures = new Map<string, { count: number; until: number }>();

  constructor(private m: MgrModule) {}

  async key(): Promise<Buffer> {
    if (this.secret) return this.secret;
    let s = await this.m.getStore('session_secret');
    if (!s) {
      s = crypto.randomBytes(32).toString('base64');
      await this.m.setStore('session_secret', s);
    }
    this.secret = Buffer.from(s, 'base64');
    return this.secret;
  }

  invalidateUsers(): void {
    this.users = null;
  }

  /** Users, re-read from the store at most every 2 s (another manager may have changed them). */
  async user(name: string): Promise<StoredUser | null> {
    if (!this.users || Date.now() - this.users.at > 2000) {
      const all = await this.m.getStorePrefix('user/');
      const map = new Map<string, StoredUser>();
      for (const v of Object.values(all)) {
        try {
          const u = JSON.parse(v) as StoredUser;
          map.set(u.username, u);
        } catch {
          this.m.log.warn('ignoring a user record that is not JSON');
        }
      }
      this.users = { at: Date.now(), map };
    }
    return this.users.map.get(name) ?? null;
  }

  async login(username: unknown, password: unknown): Promise<string> {
    if (typeof username !== 'string' || typeof password !== 'string' || !username || !password) throw new HttpError(400, 'username and password are required');
    const f = this.failures.get(username);
    const now = Date.now() / 1000;
    if (f && f.until > now) throw new HttpError(429, `too many failed logins for '${username}'; try again in ${Math.ceil(f.until - now)} s`);
    this.invalidateUsers();
    const u = await this.user(username);
    // Same cost whether or not the user exists, so timing does not tell.
    const ok = u ? await verifyPassword(password, u.password) : (await verifyPassword(password, DUMMY_HASH), false);
    if (!ok || !u!.enabled) {
      const count = (f?.count ?? 0) + 1;
      this.failures.set(username, { count, until: count >= LOCKOUT_ATTEMPTS ? now + LOCKOUT_SEC : 0 });
      if (count >= LOCKOUT_ATTEMPTS) this.m.log.warn(`user '${username}' locked for ${LOCKOUT_SEC} s after ${count} failed logins`);
      throw new HttpError(401, 'Invalid credentials');
    }
    this.failures.delete(username);
    const ttl = await this.m.getModuleOption<number>('jwt_token_ttl');
    return signSession(await this.key(), username, ttl);
  }

  /** The session's user, or null. */
  async check(req: http.IncomingMessage): Promise<{ username: string; token: string; exp: number } | null> {
    const token = parseCookies(req.headers.cookie)[COOKIE];
    if (!token || this.revoked.has(token)) return null;
    const claims = checkSession(await this.key(), token);
    if (!claims) return null;
    const u = await this.user(claims.u);
    // A deleted or disabled user, or a password changed after login, ends the session.
    if (!u || !u.enabled || Math.round(claims.iat * 1000) < (u.passwordSetMs ?? 0)) return null;
    return { username: claims.u, token, exp: claims.exp };
  }

  revoke(token: string, exp: number): void {
    const now = Date.now() / 1000;
    for (const [t, e] of this.revoked) if (e <= now) this.revoked.delete(t);
    this.revoked.set(token, exp);
  }
}

// A fixed hash to verify against when the user does not exist.
const DUMMY_HASH = 'scrypt$32768$8$1$AAAAAAAAAAAAAAAAAAAAAA==$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=';

function publicUser(u: StoredUser): Record<string, unknown> {
  return { username: u.username, enabled: u.enabled, lastUpdate: u.lastUpdate, roles: ['read-only'] };
}

export default class Dashboard extends MgrModule {
  static override COMMANDS = [
    {
      cmd: 'dashboard ac-user-create name=username,type=CephString name=password,type=CephString,req=false name=force_password,type=CephBool,req=false',
      desc: 'Create a dashboard user (password as the second argument or with -i <file>)',
      perm: 'w',
    },
    { cmd: 'dashboard ac-user-delete name=username,type=CephString', desc: 'Delete a dashboard user', perm: 'w' },
    { cmd: 'dashboard ac-user-show name=username,type=CephString,req=false', desc: 'Show a dashboard user, or list them all', perm: 'r' },
    {
      cmd: 'dashboard ac-user-set-password name=username,type=CephString name=password,type=CephString,req=false name=force_password,type=CephBool,req=false',
      desc: "Set a dashboard user's password (ends its sessions)",
      perm: 'w',
    },
    {
      cmd: 'dashboard set-ssl-certificate name=mgr_id,type=CephString,req=false',
      desc: 'Set the SSL certificate (PEM, with -i <file>), for all managers or one',
      perm: 'w',
    },
    {
      cmd: 'dashboard set-ssl-certificate-key name=mgr_id,type=CephString,req=false',
      desc: 'Set the SSL private key (PEM, with -i <file>), for all managers or one',
      perm: 'w',
    },
  ];
  static override MODULE_OPTIONS = OPTIONS;

  /** The front-end libraries are served from node_modules; without them there is no page. */
  static override canRun(): [boolean, string] {
    for (const pkg of ['preact', 'htm', 'uplot']) {
      try {
        require.resolve(pkg);
      } catch {
        return [false, `the front-end package '${pkg}' is not installed (run npm ci)`];
      }
    }
    return [true, ''];
  }

  private keeper: ServerKeeper;
  private assets: StaticAssets | null = null;
  private sessions = new Sessions(this);
  private history: Sample[] = [];
  private cache = new Map<string, { at: number; value: Promise<unknown> }>();

  constructor() {
    super();
    this.keeper = new ServerKeeper(
      this,
      (req, res) => this.handle(req, res),
      async (l) => {
        await this.setUri(l.url);
        await this.setHealthChecks({});
      },
      async (why) => {
        await this.setHealthChecks({ [HEALTH_CODE]: { severity: 'warning', summary: 'Dashboard web server failed to start', count: 1, detail: [why] } });
      },
    );
  }

  override async serve(): Promise<void> {
    this.assets = new StaticAssets();
    await this.sessions.key();
    await this.keeper.run(() => this.sample());
  }

  override shutdown(): void {
    this.keeper.stop();
  }

  override async configNotify(): Promise<void> {
    this.keeper.wake();
  }

  /** One chart point a second from pg_status (Ceph's client io rates). */
  private async sample(): Promise<void> {
    const s = ioSample(await this.get('pg_status'), Math.round(Date.now() / 1000));
    const last = this.history[this.history.length - 1];
    if (last && last.t === s.t) this.history[this.history.length - 1] = s;
    else this.history.push(s);
    if (this.history.length > HISTORY) this.history.splice(0, this.history.length - HISTORY);
  }

  /** Computes a view at most every 500 ms however many browsers poll. */
  private cached(name: string, fn: () => Promise<unknown>): Promise<unknown> {
    const hit = this.cache.get(name);
    if (hit && Date.now() - hit.at < 500) return hit.value;
    const value = fn();
    this.cache.set(name, { at: Date.now(), value });
    value.catch(() => this.cache.delete(name));
    return value;
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://x');
    const p = url.pathname;
    try {
      if (!p.startsWith('/api/')) {
        if ((req.method === 'GET' || req.method === 'HEAD') && this.assets!.serve(req, res, p)) return;
        return sendText(res, 404, `Not found: ${p}`);
      }
      await this.api(req, res, p);
    } catch (e) {
      if (e instanceof HttpError) return sendJson(res, e.status, { detail: e.message });
      throw e;
    }
  }

  private async api(req: http.IncomingMessage, res: http.ServerResponse, p: string): Promise<void> {
    const method = req.method ?? 'GET';
    const secure = this.keeper.current?.url.startsWith('https:') ? '; Secure' : '';
    if (p === '/api/auth') {
      if (method !== 'POST') throw new HttpError(405, 'use POST /api/auth with {"username", "password"}');
      const body = await readJson(req);
      const token = await this.sessions.login(body?.username, body?.password);
      const ttl = await this.getModuleOption<number>('jwt_token_ttl');
      this.log.info(`user '${body.username}' logged in`);
      return sendJson(
        res,
        201,
        { username: body.username },
        { 'set-cookie': `${COOKIE}=${token}; Path=/; HttpOnly; SameSite=Strict; Max-Age=${ttl}${secure}` },
      );
    }
    const session = await this.sessions.check(req);
    if (p === '/api/auth/logout') {
      if (method !== 'POST') throw new HttpError(405, 'use POST');
      if (session) this.sessions.revoke(session.token, session.exp);
      return sendJson(res, 200, {}, { 'set-cookie': `${COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0${secure}` });
    }
    if (!session) throw new HttpError(401, 'log in first: POST /api/auth');
    if (method !== 'GET') throw new HttpError(405, `use GET ${p}`);
    const views: Record<string, () => Promise<unknown>> = {
      '/api/auth/check': async () => ({ username: session.username }),
      '/api/summary': () => this.cached('summary', () => summary(this, this.history)),
      '/api/osd': () => this.cached('osd', () => osdTable(this)),
      '/api/pool': () => this.cached('pool', () => poolTable(this)),
      '/api/host': () => this.cached('host', () => hostTable(this)),
    };
    const view = views[p];
    if (!view) throw new HttpError(404, `no such API: ${p} (there are ${Object.keys(views).join(', ')})`);
    return sendJson(res, 200, await view());
  }

  override async handleCommand(inbuf: string, cmd: Record<string, unknown>): Promise<CommandResult> {
    switch (cmd.prefix) {
      case 'dashboard ac-user-create':
        return this.setPassword(inbuf, cmd, true);
      case 'dashboard ac-user-set-password':
        return this.setPassword(inbuf, cmd, false);
      case 'dashboard ac-user-delete': {
        const name = String(cmd.username ?? '');
        if (!(await this.getStore(`user/${name}`))) return [ENOENT, '', `User '${name}' does not exist`];
        await this.setStore(`user/${name}`, null);
        this.sessions.invalidateUsers();
        return [0, `User '${name}' deleted`, ''];
      }
      case 'dashboard ac-user-show': {
        if (cmd.username === undefined || cmd.username === '') {
          const all = await this.getStorePrefix('user/');
          return [
            0,
            JSON.stringify(
              Object.keys(all)
                .map((k) => k.slice('user/'.length))
                .sort(),
            ),
            '',
          ];
        }
        const raw = await this.getStore(`user/${String(cmd.username)}`);
        if (!raw) return [ENOENT, '', `User '${String(cmd.username)}' does not exist`];
        return [0, JSON.stringify(publicUser(JSON.parse(raw))), ''];
      }
      case 'dashboard set-ssl-certificate':
      case 'dashboard set-ssl-certificate-key': {
        const isKey = cmd.prefix === 'dashboard set-ssl-certificate-key';
        const pem = inbuf.trim();
        if (!pem) return [EINVAL, '', `Please specify the ${isKey ? 'key' : 'certificate'} file with "-i" option`];
        try {
          if (isKey) crypto.createPrivateKey(pem);
          else new crypto.X509Certificate(pem);
        } catch (e) {
          return [EINVAL, '', `That is not a PEM ${isKey ? 'private key' : 'certificate'}: ${(e as Error).message}`];
        }
        const id = typeof cmd.mgr_id === 'string' && cmd.mgr_id ? `${cmd.mgr_id}/` : '';
        await this.setStore(`${id}${isKey ? 'key' : 'crt'}`, pem + '\n');
        this.keeper.wake();
        return [0, `SSL ${isKey ? 'certificate key' : 'certificate'} updated`, ''];
      }
      default:
        return [EINVAL, '', `unknown command ${String(cmd.prefix)}`];
    }
  }

  private async setPassword(inbuf: string, cmd: Record<string, unknown>, create: boolean): Promise<CommandResult> {
    const name = cmd.username;
    const bad = checkUsername(name);
    if (bad) return [EINVAL, '', bad];
    // Ceph reads the password from -i; a trailing newline from the file is not part of it.
    const password = typeof cmd.password === 'string' && cmd.password !== '' ? cmd.password : inbuf.replace(/\r?\n$/, '');
    if (!password) return [EINVAL, '', 'Please specify the password, as the argument after the username or in a file with "-i" option'];
    if (password.length < MIN_PASSWORD && cmd.force_password !== true && cmd.force_password !== 'true') {
      return [EINVAL, '', `Password is too weak: it must be at least ${MIN_PASSWORD} characters (use --force-password to set it anyway)`];
    }
    const key = `user/${String(name)}`;
    const existing = await this.getStore(key);
    if (create && existing) return [EEXIST, '', `User '${String(name)}' already exists`];
    if (!create && !existing) return [ENOENT, '', `User '${String(name)}' does not exist`];
    const now = Date.now();
    const user: StoredUser = {
      username: String(name),
      password: await hashPassword(password),
      lastUpdate: Math.floor(now / 1000),
      passwordSetMs: now,
      enabled: true,
    };
    await this.setStore(key, JSON.stringify(user));
    this.sessions.invalidateUsers();
    this.log.info(`${create ? 'created' : 'changed the password of'} dashboard user '${user.username}'`);
    return [0, JSON.stringify(publicUser(user)), ''];
  }

  override async selfTest(): Promise<string> {
    const h = await hashPassword('self-test-password');
    if (!(await verifyPassword('self-test-password', h)) || (await verifyPassword('wrong', h))) throw new Error('password hashing does not round-trip');
    const s = await summary(this, this.history);
    if (typeof (s as { osd?: { total?: unknown } }).osd?.total !== 'number') throw new Error('summary has no OSD count');
    return 'dashboard: ok';
  }
}

/** The standby manager's part: redirect to the active dashboard, or an error code. */
class DashboardStandby extends MgrStandbyModule {
  private keeper = new ServerKeeper(
    this,
    (req, res) => this.handle(req, res),
    async () => undefined,
    async () => undefined,
  );

  override async serve(): Promise<void> {
    await this.keeper.run(async () => undefined);
  }

  override shutdown(): void {
    this.keeper.stop();
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const behaviour = await this.getModuleOption<string>('standby_behaviour');
    if (behaviour === 'error') {
      const code = await this.getModuleOption<number>('standby_error_status_code');
      return sendText(res, code, 'Keep on looking: this is a standby manager; its dashboard is served by the active manager.\n');
    }
    const active = (await this.getActiveUri()).replace(/\/+$/, '');
    if (!active) {
      // Ceph's standby page: nothing to redirect to yet, so ask to come back.
      return sendText(res, 503, 'This is a standby manager and no active dashboard is known yet; retry in a few seconds.\n', { 'retry-after': '5' });
    }
    res.writeHead(303, { location: active + (req.url ?? '/'), 'content-length': 0, 'cache-control': 'no-store' });
    res.end();
  }
}

// module-host runs this part on standby managers (exported as `standby`).
export { DashboardStandby as standby };
