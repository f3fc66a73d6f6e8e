// A real Ceph Pacific cluster on loopback for tests and benchmarks, from
// Debian's packages (ceph-mon, ceph-osd, ceph-mds, ceph-mgr, ceph-common):
// 1 or 3 monitors, memstore OSDs, an MDS with a CephFS, a few pools, cephx on,
// no ceph-mgr unless asked for. Each cluster lives in its own directory under
// the OS temp dir and its own block of ports; every daemon runs in the
// foreground of its own process group and is tracked (and stopped) by pid.
//
// One cluster is shared by all the test files of a jest run that ask for it
// (`sharedCephCluster()`): the first to ask starts it under a lock file and
// records it in a state file; the others attach to it; the jest
// `globalTeardown` (ceph-global-teardown.ts) stops it. A cluster whose owner
// process died (a crashed run) is found by the next start and removed, by
// pid, checking that each pid still runs a daemon of that cluster.
//
// Without a manager `ceph pg stat` hangs, so readiness is judged by the
// monitors alone (quorum, OSDs up and in, the MDS up:active), and every
// `ceph` call is bounded by a timeout.
import { execFile, spawn } from 'child_process';
import * as crypto from 'crypto';
import * as fs from 'fs';
import * as net from 'net';
import * as os from 'os';
import * as path from 'path';
import { MS_MODE_OPTIONS, type MsModeOption } from '../ceph/modes';
import { formatKeyring, newKey } from '../keyring';
import { until } from './wait';

/** The programs a cluster needs (Debian: ceph-mon, ceph-osd, ceph-mds, ceph-common; ceph-mgr only with `mgrs`). */
export const CEPH_BINARIES = {
  ceph: '/usr/bin/ceph',
  mon: '/usr/bin/ceph-mon',
  osd: '/usr/bin/ceph-osd',
  mds: '/usr/bin/ceph-mds',
  mgr: '/usr/bin/ceph-mgr',
  monmaptool: '/usr/bin/monmaptool',
};

export interface CephClusterOptions {
  /** Monitors (named a, b, c, ...); default 1. */
  mons?: number;
  /** Memstore OSDs; default 3. */
  osds?: number;
  /** One MDS (mds.a) and a CephFS named cephfs; default true. */
  mds?: boolean;
  /** ceph-mgr daemons to start, by id (e.g. ['x', 'y']); default none. */
  mgrs?: string[];
  /** Connection modes: all six `ms_*_mode` set to one value ('crc', 'secure', 'crc secure'), or some of them; default Pacific's. */
  msMode?: string | Partial<Record<MsModeOption, string>>;
  /** Extra ceph.conf settings per section, e.g. { mon: { mon_osd_down_out_interval: 0 } }. */
  conf?: Record<string, Record<string, string | number | boolean>>;
  /** How long the start may take (default 240 s: the machine is shared). */
  startTimeoutMs?: number;
}

/** What `ceph` printed and how it exited. */
export interface CephRun {
  code: number;
  stdout: string;
  stderr: string;
}

export interface CephMon {
  name: string;
  /** msgr2 address, host:port. */
  v2: string;
  /** legacy (v1) address, host:port. */
  v1: string;
}

export interface CephCluster {
  readonly dir: string;
  /** ceph.conf: mon_host, the admin keyring and this cluster's settings. */
  readonly confPath: string;
  /** The admin keyring: [client.admin] with every cap. */
  readonly keyringPath: string;
  readonly fsid: string;
  readonly mons: CephMon[];
  /** mon_host as written in ceph.conf: one `[v2:...,v1:...]` addrvec per monitor. */
  readonly monHost: string;
  /** Daemon names: mon.a, osd.0, mds.a, mgr.x, ... */
  readonly daemons: string[];
  /** True when this handle attached to the run's shared cluster (stop() leaves it to the global teardown). */
  readonly shared: boolean;
  /** Runs `ceph <args> -f json` as client.admin and parses the output; a non-zero exit is an error with ceph's message. */
  ceph<T = any>(args: string[], opts?: { timeoutMs?: number; input?: string }): Promise<T>;
  /** Runs `ceph <args>` and returns what it printed, whatever the exit code. */
  run(args: string[], opts?: { timeoutMs?: number; input?: string }): Promise<CephRun>;
  /** Runs an admin-socket command of one of the cluster's daemons (`ceph daemon <name> ...`) and parses its JSON. */
  daemonCommand<T = any>(daemon: string, args: string[], timeoutMs?: number): Promise<T>;
  /** The pid of a running daemon, or undefined when it is stopped. */
  pid(daemon: string): number | undefined;
  /** SIGTERM, then SIGKILL after `graceMs` (default 10 s); resolves once the process is gone. */
  stopDaemon(daemon: string, opts?: { graceMs?: number }): Promise<void>;
  /** Starts a stopped daemon and waits until the monitors see it up (in quorum, up, up:active). */
  startDaemon(daemon: string): Promise<void>;
  restartDaemon(daemon: string): Promise<void>;
  /**
   * Takes the cluster's manager role for a test: on a shared cluster the
   * managers of one test at a time beacon to the monitors (the first to
   * beacon becomes active, so two tests' managers would take each other's
   * place). Waits while another live process holds it (up to `timeoutMs`,
   * default 15 min). The release fails every manager left in the MgrMap
   * (`ceph mgr fail`), so the next holder starts from an empty map, and
   * frees the role.
   */
  holdManagers(who: string, timeoutMs?: number): Promise<() => Promise<void>>;
  /** Waits until every monitor is in quorum, every OSD up and in, the MDS active and the managers known. */
  waitReady(timeoutMs?: number): Promise<void>;
  /** Stops every daemon (by pid) and removes the directory; a no-op for the shared handle. */
  stop(): Promise<void>;
}

const PREFIX = 'mgrpc-ceph-';
/** The folders this file makes under the OS temp dir (fs.mkdtempSync adds six characters). */
const CLUSTER_DIR = /^mgrpc-ceph-[A-Za-z0-9]{6}$/;
const RUN_DIR = /^mgrpc-ceph-run-[A-Za-z0-9]{6}$/;
/** Blocks of ports a cluster may take: 30000-32699, below the kernel's ephemeral range and away from 40200-40299. */
const PORT_BLOCK = 100;
const PORT_BLOCKS = { first: 30000, count: 27 };
const DEFAULT_START_TIMEOUT_MS = 240000;
const DEFAULT_CEPH_TIMEOUT_MS = 30000;

/** Why a cluster cannot start here (missing programs), or null when it can. */
export function cephMissing(opts: { mgr?: boolean } = {}): string | null {
  const need = Object.entries(CEPH_BINARIES).filter(([k]) => k !== 'mgr' || opts.mgr);
  const missing = need.map(([, f]) => f).filter((f) => !fs.existsSync(f));
  if (!missing.length) return null;
  return `missing ${missing.join(', ')}: install Debian's ceph-common, ceph-mon, ceph-osd, ceph-mds${opts.mgr ? ', ceph-mgr' : ''} (.ci/run installs them)`;
}

/**
 * `describe` for a test file that needs a real cluster. Without Ceph's
 * programs: under CI=true the file fails loudly; elsewhere it is skipped
 * with the reason printed.
 */
export function describeCeph(file: string, opts: { mgr?: boolean } = {}): jest.Describe {
  const missing = cephMissing(opts);
  if (!missing) return describe;
  if (process.env.CI === 'true') throw new Error(`${file} needs a real Ceph cluster: ${missing}`);
  process.stdout.write(`SKIP ${file}: ${missing}\n`);
  return describe.skip;
}

// ---------------------------------------------------------------- processes

/** The start time of a process (field 22 of /proc/<pid>/stat), to tell a pid from its reuse; undefined when it is gone. */
function procStart(pid: number): string | undefined {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (fields[0] === 'Z') return undefined; // exited, not yet reaped
    return fields[19];
  } catch {
    return undefined;
  }
}

function alive(pid: number): boolean {
  return procStart(pid) !== undefined;
}

/** True when `pid` runs a program whose command line names `dir` (so a reused pid is never signalled). */
function runsIn(pid: number, dir: string): boolean {
  try {
    return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(dir);
  } catch {
    return false;
  }
}

function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {
    // already gone
  }
}

async function stopPids(pids: number[], graceMs: number): Promise<void> {
  for (const p of pids) signal(p, 'SIGTERM');
  const end = Date.now() + graceMs;
  while (pids.some(alive) && Date.now() < end) await sleep(100);
  for (const p of pids.filter(alive)) signal(p, 'SIGKILL');
  while (pids.some(alive)) await sleep(50);
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

interface Owner {
  pid: number;
  start: string;
}

function ownerAlive(o: Owner): boolean {
  return procStart(o.pid) === o.start;
}

function me(): Owner {
  return { pid: process.pid, start: procStart(process.pid) ?? '' };
}

function readJson<T>(file: string): T | undefined {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8')) as T;
  } catch {
    return undefined;
  }
}

function writeJsonAtomic(file: string, value: unknown): void {
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, JSON.stringify(value, null, 2) + '\n');
  fs.renameSync(tmp, file);
}

// -------------------------------------------------------------------- ports

function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.once('error', () => resolve(false));
    s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
  });
}

function reservationFile(base: number): string {
  return path.join(os.tmpdir(), `${PREFIX}ports-${base}`);
}

/** Reserves a block of ports nobody listens on (a file per block, so concurrent starts never pick the same one). */
async function reservePorts(dir: string): Promise<number> {
  const order = [...Array(PORT_BLOCKS.count).keys()].sort(() => Math.random() - 0.5);
  for (const i of order) {
    const base = PORT_BLOCKS.first + i * PORT_BLOCK;
    const file = reservationFile(base);
    const holder = fs.existsSync(file) ? fs.readFileSync(file, 'utf8').trim() : '';
    if (holder && fs.existsSync(holder)) continue;
    if (holder) fs.rmSync(file, { force: true }); // its cluster is gone
    try {
      fs.writeFileSync(file, dir, { flag: 'wx' });
    } catch {
      continue; // taken a moment ago
    }
    let free = true;
    for (let p = base; p < base + PORT_BLOCK && free; p++) free = await portFree(p);
    if (free) return base;
    fs.rmSync(file, { force: true });
  }
  throw new Error(
    `no free block of ${PORT_BLOCK} ports in ${PORT_BLOCKS.first}-${PORT_BLOCKS.first + PORT_BLOCKS.count * PORT_BLOCK - 1} for a test Ceph cluster`,
  );
}

function releasePorts(base: number, dir: string): void {
  const file = reservationFile(base);
  try {
    if (fs.readFileSync(file, 'utf8').trim() === dir) fs.rmSync(file, { force: true });
  } catch {
    // not ours or already gone
  }
}

// -------------------------------------------------------------- the cluster

/** What a cluster's directory records about it (state.json), enough for another process to attach or clean up. */
interface ClusterState {
  dir: string;
  fsid: string;
  portBase: number;
  mons: CephMon[];
  daemons: string[];
  owner: Owner;
}

const pidFile = (dir: string, daemon: string) => path.join(dir, 'run', `${daemon}.pid`);

function readPid(dir: string, daemon: string): number | undefined {
  try {
    const pid = Number(fs.readFileSync(pidFile(dir, daemon), 'utf8').trim());
    return pid > 0 && alive(pid) && runsIn(pid, dir) ? pid : undefined;
  } catch {
    return undefined;
  }
}

/** Stops every daemon of the cluster in `dir` (daemons first, monitors last) and removes the directory. */
async function destroy(state: ClusterState, graceMs = 10000): Promise<void> {
  const pids = (names: string[]) => names.map((d) => readPid(state.dir, d)).filter((p): p is number => p !== undefined);
  await stopPids(pids(state.daemons.filter((d) => !d.startsWith('mon.'))), graceMs);
  await stopPids(pids(state.daemons.filter((d) => d.startsWith('mon.'))), graceMs);
  fs.rmSync(state.dir, { recursive: true, force: true });
  releasePorts(state.portBase, state.dir);
}

/** Removes the clusters of processes that died without stopping them (a crashed run). */
export async function reapOrphanClusters(): Promise<string[]> {
  const reaped: string[] = [];
  for (const name of fs.readdirSync(os.tmpdir())) {
    // only what startCephCluster made: mkdtemp's six characters, and its owner.json (other folders may share the prefix)
    if (!CLUSTER_DIR.test(name)) continue;
    const dir = path.join(os.tmpdir(), name);
    const owner = readJson<Owner>(path.join(dir, 'owner.json'));
    if (!owner) continue;
    const state = readJson<ClusterState>(path.join(dir, 'state.json'));
    if (!state) {
      // Half-made (its starter died before writing state.json).
      if (!ownerAlive(owner)) {
        for (const f of fs.existsSync(path.join(dir, 'run')) ? fs.readdirSync(path.join(dir, 'run')) : []) {
          const pid = readPid(dir, f.replace(/\.pid$/, ''));
          if (pid) await stopPids([pid], 5000);
        }
        fs.rmSync(dir, { recursive: true, force: true });
        reaped.push(dir);
      }
      continue;
    }
    if (ownerAlive(state.owner)) continue;
    await destroy(state, 5000);
    reaped.push(dir);
  }
  // Run directories of jest runs that are gone.
  for (const name of fs.readdirSync(os.tmpdir())) {
    if (!RUN_DIR.test(name)) continue;
    const dir = path.join(os.tmpdir(), name);
    const owner = readJson<Owner>(path.join(dir, 'owner.json'));
    if (owner && !ownerAlive(owner)) fs.rmSync(dir, { recursive: true, force: true });
  }
  return reaped;
}

function modeSettings(msMode: CephClusterOptions['msMode']): Record<string, string> {
  if (!msMode) return {};
  if (typeof msMode === 'string') return Object.fromEntries(MS_MODE_OPTIONS.map((k) => [k, msMode]));
  return { ...msMode } as Record<string, string>;
}

function confText(o: {
  fsid: string;
  dir: string;
  monHost: string;
  portBase: number;
  osds: number;
  msMode: CephClusterOptions['msMode'];
  extra: CephClusterOptions['conf'];
}): string {
  const d = o.dir;
  const sections: Record<string, Record<string, string | number | boolean>> = {
    global: {
      fsid: o.fsid,
      mon_host: o.monHost,
      public_addr: '127.0.0.1',
      cluster_addr: '127.0.0.1',
      public_network: '127.0.0.1/32',
      ms_bind_ipv4: true,
      ms_bind_ipv6: false,
      // monitors take the first ports of the block, every other daemon the rest
      ms_bind_port_min: o.portBase + 10,
      ms_bind_port_max: o.portBase + PORT_BLOCK - 1,
      ...modeSettings(o.msMode),
      auth_cluster_required: 'cephx',
      auth_service_required: 'cephx',
      auth_client_required: 'cephx',
      auth_allow_insecure_global_id_reclaim: false,
      keyring: path.join(d, 'keyring'),
      admin_socket: path.join(d, 'out', '$name.asok'),
      log_file: path.join(d, 'out', '$name.log'),
      pid_file: path.join(d, 'out', '$name.pid'),
      run_dir: path.join(d, 'out'),
      crash_dir: path.join(d, 'out', 'crash'),
      osd_pool_default_size: Math.min(3, o.osds),
      osd_pool_default_min_size: 1,
      osd_crush_chooseleaf_type: 0,
      mon_allow_pool_delete: true,
      mon_allow_pool_size_one: true,
      mon_data_avail_warn: 2,
      mon_data_avail_crit: 1,
    },
    // the ceph command line leaves no sockets or logs behind
    client: { admin_socket: '', log_file: '' },
    mon: {
      mon_data: path.join(d, 'dev', 'mon.$id'),
      keyring: path.join(d, 'dev', 'mon.$id', 'keyring'),
      mon_cluster_log_file: path.join(d, 'out', 'cluster.log'),
    },
    // no module that listens on a well-known port (restful, prometheus, dashboard)
    mgr: { mgr_data: path.join(d, 'dev', 'mgr.$id'), keyring: path.join(d, 'daemons.keyring'), mgr_initial_modules: 'iostat' },
    osd: { osd_data: path.join(d, 'dev', 'osd$id'), keyring: path.join(d, 'daemons.keyring'), osd_objectstore: 'memstore', memstore_device_bytes: 1 << 30 },
    mds: { mds_data: path.join(d, 'dev', 'mds.$id'), keyring: path.join(d, 'daemons.keyring') },
  };
  for (const [section, kv] of Object.entries(o.extra ?? {})) sections[section] = { ...(sections[section] ?? {}), ...kv };
  return Object.entries(sections)
    .map(
      ([s, kv]) =>
        `[${s}]\n${Object.entries(kv)
          .map(([k, v]) => `\t${k} = ${v}\n`)
          .join('')}`,
    )
    .join('\n');
}

/** Runs `ceph` as client.admin of the cluster in `dir` (or, with `asok`, against one daemon's admin socket), killed after the timeout. */
function execCeph(dir: string, args: string[], opts: { timeoutMs?: number; input?: string; asok?: string } = {}): Promise<CephRun> {
  const timeoutMs = opts.timeoutMs ?? DEFAULT_CEPH_TIMEOUT_MS;
  const conf = path.join(dir, 'ceph.conf');
  const full = opts.asok
    ? ['--admin-daemon', opts.asok, ...args]
    : ['--conf', conf, '--name', 'client.admin', '--keyring', path.join(dir, 'keyring'), '--connect-timeout', String(Math.ceil(timeoutMs / 1000)), ...args];
  return new Promise((resolve) => {
    const env = { ...process.env };
    delete env.CEPH_ARGS;
    delete env.CEPH_CONF;
    const child = execFile(CEPH_BINARIES.ceph, full, { timeout: timeoutMs, killSignal: 'SIGKILL', env, maxBuffer: 64 << 20 }, (err, stdout, stderr) => {
      const e = err as (Error & { code?: number | string; killed?: boolean }) | null;
      let code = 0;
      if (e) code = e.killed ? 124 : typeof e.code === 'number' ? e.code : 1;
      resolve({ code, stdout, stderr: e?.killed ? `${stderr}ceph ${args.join(' ')}: no answer within ${timeoutMs} ms` : stderr });
    });
    if (opts.input !== undefined) child.stdin!.end(opts.input);
    else child.stdin!.end();
  });
}

function daemonArgs(dir: string, daemon: string): { bin: string; args: string[] } {
  const [type, id] = [daemon.slice(0, daemon.indexOf('.')), daemon.slice(daemon.indexOf('.') + 1)];
  const bin = { mon: CEPH_BINARIES.mon, osd: CEPH_BINARIES.osd, mds: CEPH_BINARIES.mds, mgr: CEPH_BINARIES.mgr }[type];
  if (!bin) throw new Error(`unknown daemon '${daemon}': expected mon.<id>, osd.<n>, mds.<id> or mgr.<id>`);
  return { bin, args: ['-f', '--conf', path.join(dir, 'ceph.conf'), '--id', id] };
}

/** Starts one daemon in the foreground of its own process group (it outlives this process), recording its pid. */
function spawnDaemon(dir: string, daemon: string): number {
  const { bin, args } = daemonArgs(dir, daemon);
  const out = fs.openSync(path.join(dir, 'out', `${daemon}.stdout`), 'a');
  const env = { ...process.env };
  delete env.CEPH_ARGS;
  delete env.CEPH_CONF;
  const child = spawn(bin, args, { detached: true, stdio: ['ignore', out, out], env });
  fs.closeSync(out);
  child.unref();
  child.on('error', () => undefined);
  if (!child.pid) throw new Error(`could not start ${daemon} (${bin})`);
  fs.writeFileSync(pidFile(dir, daemon), `${child.pid}\n`);
  return child.pid;
}

function lastLines(file: string, n = 15): string {
  try {
    return fs.readFileSync(file, 'utf8').trim().split('\n').slice(-n).join('\n');
  } catch {
    return '';
  }
}

class Cluster implements CephCluster {
  readonly confPath: string;
  readonly keyringPath: string;
  readonly monHost: string;
  constructor(
    private readonly state: ClusterState,
    readonly shared: boolean,
  ) {
    this.confPath = path.join(state.dir, 'ceph.conf');
    this.keyringPath = path.join(state.dir, 'keyring');
    this.monHost = state.mons.map((m) => `[v2:${m.v2},v1:${m.v1}]`).join(',');
  }
  get dir() {
    return this.state.dir;
  }
  get fsid() {
    return this.state.fsid;
  }
  get mons() {
    return this.state.mons;
  }
  get daemons() {
    return this.state.daemons;
  }

  run(args: string[], opts?: { timeoutMs?: number; input?: string }): Promise<CephRun> {
    return execCeph(this.dir, args, opts);
  }

  async ceph<T = any>(args: string[], opts?: { timeoutMs?: number; input?: string }): Promise<T> {
    const r = await this.run([...args, '--format', 'json'], opts);
    if (r.code !== 0) throw new Error(`ceph ${args.join(' ')} exited ${r.code}: ${r.stderr.trim() || r.stdout.trim()}`);
    const text = r.stdout.trim();
    if (!text) return undefined as T;
    try {
      return JSON.parse(text) as T;
    } catch {
      throw new Error(`ceph ${args.join(' ')} printed no JSON: ${text.slice(0, 300)}`);
    }
  }

  pid(daemon: string): number | undefined {
    return readPid(this.dir, daemon);
  }

  private known(daemon: string): void {
    if (!this.daemons.includes(daemon)) throw new Error(`no daemon '${daemon}' in this cluster; it has ${this.daemons.join(', ')}`);
  }

  async stopDaemon(daemon: string, opts: { graceMs?: number } = {}): Promise<void> {
    this.known(daemon);
    const pid = this.pid(daemon);
    if (pid) await stopPids([pid], opts.graceMs ?? 10000);
    fs.rmSync(pidFile(this.dir, daemon), { force: true });
  }

  async startDaemon(daemon: string, timeoutMs = 120000): Promise<void> {
    this.known(daemon);
    if (this.pid(daemon)) throw new Error(`${daemon} is already running (pid ${this.pid(daemon)})`);
    const pid = spawnDaemon(this.dir, daemon);
    await until(
      `${daemon} to be up`,
      async () => {
        if (!alive(pid))
          throw new Error(`${daemon} exited; ${path.join(this.dir, 'out', daemon + '.log')}:\n${lastLines(path.join(this.dir, 'out', daemon + '.log'))}`);
        return this.isUp(daemon);
      },
      timeoutMs,
      500,
    );
  }

  async holdManagers(who: string, timeoutMs = 15 * 60_000): Promise<() => Promise<void>> {
    const lock = path.join(this.dir, 'managers.lock');
    const mine = JSON.stringify({ ...me(), who });
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      try {
        fs.writeFileSync(lock, mine, { flag: 'wx' });
        break;
      } catch {
        const holder = readJson<Owner & { who: string }>(lock);
        if (holder && !ownerAlive(holder))
          fs.rmSync(lock, { force: true }); // its test died: take it
        else if (Date.now() > deadline) throw new Error(`the manager role of ${this.dir} is still held by ${holder?.who ?? '?'} (pid ${holder?.pid})`);
        else await sleep(500);
      }
    }
    return async () => {
      const m = await this.ceph<{ active_name: string; standbys: Array<{ name: string }> }>(['mgr', 'dump']).catch(() => null);
      for (const name of [m?.active_name, ...(m?.standbys ?? []).map((x) => x.name)].filter(Boolean))
        await this.run(['mgr', 'fail', name as string]).catch(() => undefined);
      if (fs.existsSync(lock) && fs.readFileSync(lock, 'utf8') === mine) fs.rmSync(lock, { force: true });
    };
  }

  async restartDaemon(daemon: string): Promise<void> {
    await this.stopDaemon(daemon);
    await this.startDaemon(daemon);
  }

  /** Runs an admin-socket command of a local daemon (`ceph daemon <name> ...`) and parses its JSON. */
  async daemonCommand<T = any>(daemon: string, args: string[], timeoutMs = 10000): Promise<T> {
    this.known(daemon);
    const r = await execCeph(this.dir, args, { timeoutMs, asok: path.join(this.dir, 'out', `${daemon}.asok`) });
    if (r.code !== 0) throw new Error(`ceph daemon ${daemon} ${args.join(' ')} exited ${r.code}: ${r.stderr.trim() || r.stdout.trim()}`);
    return JSON.parse(r.stdout) as T;
  }

  /**
   * Whether `daemon` is up: in its own view (admin socket: a monitor in
   * quorum, an OSD active, an MDS up) and in the monitors' (quorum, osd
   * dump, fs dump, mgr dump), so a stale map entry from before a restart
   * does not count.
   */
  private async isUp(daemon: string): Promise<boolean> {
    const [type, id] = [daemon.slice(0, daemon.indexOf('.')), daemon.slice(daemon.indexOf('.') + 1)];
    const t = { timeoutMs: 10000 };
    switch (type) {
      case 'mon': {
        const own = await this.daemonCommand<{ state: string }>(daemon, ['mon_status']);
        if (own.state !== 'leader' && own.state !== 'peon') return false;
        const q = await this.ceph<{ quorum_names: string[] }>(['quorum_status'], t);
        return q.quorum_names.includes(id);
      }
      case 'osd': {
        const own = await this.daemonCommand<{ state: string }>(daemon, ['status']);
        if (own.state !== 'active') return false;
        const d = await this.ceph<{ osds: Array<{ osd: number; up: number; in: number }> }>(['osd', 'dump'], t);
        const o = d.osds.find((x) => String(x.osd) === id);
        return !!o && o.up === 1 && o.in === 1;
      }
      case 'mds': {
        const own = await this.daemonCommand<{ state: string }>(daemon, ['status']);
        if (!own.state.startsWith('up:') || own.state === 'up:boot') return false;
        const f = await this.ceph<{
          filesystems: Array<{ mdsmap: { info: Record<string, { name: string; state: string }> } }>;
          standbys: Array<{ name: string }>;
        }>(['fs', 'dump'], t);
        const ranks = f.filesystems.flatMap((fs) => Object.values(fs.mdsmap.info));
        return ranks.some((i) => i.name === id && i.state === 'up:active') || (ranks.length > 0 && f.standbys.some((s) => s.name === id));
      }
      case 'mgr': {
        const m = await this.ceph<{ active_name: string; available: boolean; standbys: Array<{ name: string }> }>(['mgr', 'dump'], t);
        return (m.active_name === id && m.available) || m.standbys.some((s) => s.name === id);
      }
    }
    return false;
  }

  async waitReady(timeoutMs = DEFAULT_START_TIMEOUT_MS): Promise<void> {
    for (const d of this.daemons) {
      const pid = this.pid(d);
      await until(
        `${d} to be up in ${this.dir}`,
        async () => {
          if (!pid || !alive(pid))
            throw new Error(`${d} is not running; ${path.join(this.dir, 'out', d + '.log')}:\n${lastLines(path.join(this.dir, 'out', d + '.log'))}`);
          return this.isUp(d);
        },
        timeoutMs,
        500,
      );
    }
  }

  async stop(): Promise<void> {
    if (this.shared) return;
    exitCleanup.delete(this);
    await destroy(this.state);
  }

  /** Last resort when the process exits without stop(): SIGKILL by pid, synchronously. */
  killNow(): void {
    for (const d of this.daemons) {
      const pid = this.pid(d);
      if (pid) signal(pid, 'SIGKILL');
    }
    fs.rmSync(this.dir, { recursive: true, force: true });
    releasePorts(this.state.portBase, this.dir);
  }
}

const exitCleanup = new Set<Cluster>();
let exitHook = false;

/**
 * Starts a new cluster of its own (stopped by `stop()`; if the process exits
 * first, its daemons are killed). Tests that need a special cluster (3
 * monitors, secure mode, managers) use this; the rest share one with
 * `sharedCephCluster()`.
 */
export async function startCephCluster(opts: CephClusterOptions = {}): Promise<CephCluster> {
  const missing = cephMissing({ mgr: !!opts.mgrs?.length });
  if (missing) throw new Error(missing);
  await reapOrphanClusters();
  const nMons = opts.mons ?? 1;
  const nOsds = opts.osds ?? 3;
  if (!Number.isInteger(nMons) || nMons < 1 || nMons > 5) throw new Error(`mons must be 1 to 5, got ${nMons}`);
  if (!Number.isInteger(nOsds) || nOsds < 1 || nOsds > 20) throw new Error(`osds must be 1 to 20, got ${nOsds}`);
  const timeoutMs = opts.startTimeoutMs ?? DEFAULT_START_TIMEOUT_MS;
  const deadline = Date.now() + timeoutMs;
  const left = () => Math.max(1000, deadline - Date.now());

  const dir = fs.mkdtempSync(path.join(os.tmpdir(), PREFIX));
  writeJsonAtomic(path.join(dir, 'owner.json'), me());
  let portBase = 0;
  const monNames = 'abcde'.slice(0, nMons).split('');
  const mgrs = opts.mgrs ?? [];
  const daemons = [
    ...monNames.map((m) => `mon.${m}`),
    ...[...Array(nOsds).keys()].map((i) => `osd.${i}`),
    ...(opts.mds === false ? [] : ['mds.a']),
    ...mgrs.map((m) => `mgr.${m}`),
  ];
  let cluster: Cluster | undefined;
  try {
    portBase = await reservePorts(dir);
    const fsid = crypto.randomUUID();
    const mons: CephMon[] = monNames.map((name, i) => ({ name, v2: `127.0.0.1:${portBase + 2 * i}`, v1: `127.0.0.1:${portBase + 2 * i + 1}` }));
    const state: ClusterState = { dir, fsid, portBase, mons, daemons, owner: me() };
    for (const sub of ['dev', 'out', 'out/crash', 'run']) fs.mkdirSync(path.join(dir, sub), { recursive: true });
    cluster = new Cluster(state, false);
    exitCleanup.add(cluster);
    if (!exitHook) {
      exitHook = true;
      process.on('exit', () => {
        for (const c of exitCleanup) c.killNow();
      });
    }
    fs.writeFileSync(cluster.confPath, confText({ fsid, dir, monHost: cluster.monHost, portBase, osds: nOsds, msMode: opts.msMode, extra: opts.conf }));

    // Every key is made here and imported by the monitors' mkfs, so no daemon needs `ceph auth` calls.
    const all = '*';
    const admin = { entity: 'client.admin', key: newKey(), caps: { mon: `allow ${all}`, osd: `allow ${all}`, mds: `allow ${all}`, mgr: `allow ${all}` } };
    const daemonKeys = [
      ...[...Array(nOsds).keys()].map((i) => ({
        entity: `osd.${i}`,
        key: newKey(),
        caps: { mon: 'allow profile osd', mgr: 'allow profile osd', osd: 'allow *' },
      })),
      { entity: 'mds.a', key: newKey(), caps: { mon: 'allow profile mds', osd: 'allow rw tag cephfs *=*', mds: 'allow', mgr: 'allow profile mds' } },
      ...mgrs.map((m) => ({ entity: `mgr.${m}`, key: newKey(), caps: { mon: 'allow profile mgr', osd: 'allow *', mds: 'allow *' } })),
    ];
    const monKey = { entity: 'mon.', key: newKey(), caps: { mon: 'allow *' } };
    fs.writeFileSync(cluster.keyringPath, formatKeyring([admin]), { mode: 0o600 });
    fs.writeFileSync(path.join(dir, 'daemons.keyring'), formatKeyring(daemonKeys), { mode: 0o600 });
    const mkfsKeyring = path.join(dir, 'mkfs.keyring');
    fs.writeFileSync(mkfsKeyring, formatKeyring([monKey, admin, ...daemonKeys]), { mode: 0o600 });

    const monmap = path.join(dir, 'monmap');
    await execOrThrow(CEPH_BINARIES.monmaptool, [
      '--create',
      '--fsid',
      fsid,
      ...mons.flatMap((m) => ['--addv', m.name, `[v2:${m.v2},v1:${m.v1}]`]),
      '--clobber',
      monmap,
    ]);
    for (const m of mons) {
      fs.mkdirSync(path.join(dir, 'dev', `mon.${m.name}`), { recursive: true });
      await execOrThrow(CEPH_BINARIES.mon, ['--conf', cluster.confPath, '--mkfs', '--id', m.name, '--monmap', monmap, '--keyring', mkfsKeyring]);
    }
    fs.rmSync(mkfsKeyring);
    for (const m of mons) spawnDaemon(dir, `mon.${m.name}`);
    await until(
      'the monitors to form a quorum',
      () => cluster!.ceph<{ quorum_names: string[] }>(['quorum_status'], { timeoutMs: 15000 }).then((q) => q.quorum_names.length === nMons),
      left(),
      500,
    );

    // OSDs: registered in the osdmap, made (memstore) and started, all in parallel.
    await Promise.all(
      [...Array(nOsds).keys()].map(async (i) => {
        const uuid = crypto.randomUUID();
        await cluster!.ceph(['osd', 'new', uuid, String(i)], { timeoutMs: left() });
        fs.mkdirSync(path.join(dir, 'dev', `osd${i}`), { recursive: true });
        await execOrThrow(CEPH_BINARIES.osd, ['--conf', cluster!.confPath, '--id', String(i), '--mkfs', '--osd-uuid', uuid], left());
        spawnDaemon(dir, `osd.${i}`);
      }),
    );
    for (const m of mgrs) {
      fs.mkdirSync(path.join(dir, 'dev', `mgr.${m}`), { recursive: true });
      spawnDaemon(dir, `mgr.${m}`);
    }
    // Pools: CephFS's two and one for RADOS tests.
    const pools = opts.mds === false ? ['mgrpc'] : ['cephfs_metadata', 'cephfs_data', 'mgrpc'];
    for (const p of pools) await cluster.ceph(['osd', 'pool', 'create', p, '8', '8'], { timeoutMs: left() });
    await cluster.ceph(['osd', 'pool', 'application', 'enable', 'mgrpc', 'rados'], { timeoutMs: left() });
    if (opts.mds !== false) {
      await cluster.ceph(['fs', 'new', 'cephfs', 'cephfs_metadata', 'cephfs_data'], { timeoutMs: left() });
      fs.mkdirSync(path.join(dir, 'dev', 'mds.a'), { recursive: true });
      spawnDaemon(dir, 'mds.a');
    }
    await cluster.waitReady(left());
    writeJsonAtomic(path.join(dir, 'state.json'), state);
    return cluster;
  } catch (e) {
    if (cluster) {
      const logs = cluster.daemons.map((d) => `${d}: ${lastLines(path.join(dir, 'out', d + '.log'), 5)}`).join('\n');
      await cluster.stop().catch(() => undefined);
      throw new Error(`the test Ceph cluster did not start: ${(e as Error).message}\nlast log lines:\n${logs}`, { cause: e });
    }
    if (portBase) releasePorts(portBase, dir);
    fs.rmSync(dir, { recursive: true, force: true });
    throw e;
  }
}

function execOrThrow(bin: string, args: string[], timeoutMs = 60000): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(bin, args, { timeout: timeoutMs, killSignal: 'SIGKILL' }, (err, stdout, stderr) => {
      if (err) reject(new Error(`${path.basename(bin)} ${args.join(' ')} failed: ${(stderr || stdout || err.message).trim().slice(-1500)}`));
      else resolve(stdout);
    });
  });
}

// ------------------------------------------------------- the shared cluster

/** Set by the jest globalSetup: the run's directory (lock and state of the shared cluster). */
export const RUN_DIR_ENV = 'MGR_TEST_CEPH_RUN';

let sharedHere: Promise<CephCluster> | undefined;

/**
 * The run's shared cluster (1 monitor, 3 OSDs, an MDS; Pacific's default
 * modes; no manager): started by the first test file that asks, reused by
 * the others, stopped by the global teardown. Tests may change it (mark an
 * OSD out, restart a daemon) but must put it back as they found it.
 * Outside a jest run with the global setup, a private cluster stopped when
 * the process exits.
 */
export function sharedCephCluster(): Promise<CephCluster> {
  sharedHere ??= attachOrStart().catch((e) => {
    sharedHere = undefined;
    throw e;
  });
  return sharedHere;
}

async function attachOrStart(): Promise<CephCluster> {
  const run = process.env[RUN_DIR_ENV];
  if (!run || !fs.existsSync(run)) return startCephCluster();
  const stateFile = path.join(run, 'shared.json');
  const errorFile = path.join(run, 'shared-error.txt');
  const lock = path.join(run, 'shared.lock');
  const deadline = Date.now() + DEFAULT_START_TIMEOUT_MS + 60000;
  for (;;) {
    const state = readJson<ClusterState>(stateFile);
    if (state) return new Cluster(state, true);
    if (fs.existsSync(errorFile)) throw new Error(`the shared test Ceph cluster failed to start: ${fs.readFileSync(errorFile, 'utf8')}`);
    let mine = false;
    try {
      fs.writeFileSync(lock, JSON.stringify(me()), { flag: 'wx' });
      mine = true;
    } catch {
      const holder = readJson<Owner>(lock);
      if (holder && !ownerAlive(holder)) fs.rmSync(lock, { force: true }); // its starter died: try again
    }
    if (mine) {
      try {
        const c = await startCephCluster();
        const st = readJson<ClusterState>(path.join(c.dir, 'state.json'))!;
        // The run (the jest parent process) owns it now: the global teardown stops it, a crashed run's is reaped.
        const owner = readJson<Owner>(path.join(run, 'owner.json'))!;
        st.owner = owner;
        writeJsonAtomic(path.join(c.dir, 'state.json'), st);
        writeJsonAtomic(path.join(c.dir, 'owner.json'), owner);
        exitCleanup.delete(c as Cluster);
        writeJsonAtomic(stateFile, st);
        return new Cluster(st, true);
      } catch (e) {
        fs.writeFileSync(errorFile, (e as Error).message);
        throw e;
      }
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for another test file to start the shared Ceph cluster (lock ${lock})`);
    await sleep(500);
  }
}

/** For the jest globalSetup: a run directory, and the clusters of crashed runs removed. */
export async function setUpCephRun(): Promise<void> {
  const reaped = await reapOrphanClusters().catch(() => []);
  if (reaped.length) process.stdout.write(`removed ${reaped.length} test Ceph cluster(s) left by a crashed run: ${reaped.join(', ')}\n`);
  const run = fs.mkdtempSync(path.join(os.tmpdir(), `${PREFIX}run-`));
  writeJsonAtomic(path.join(run, 'owner.json'), me());
  process.env[RUN_DIR_ENV] = run;
}

/** For the jest globalTeardown: stops the shared cluster (if one was started) and removes the run directory. */
export async function tearDownCephRun(): Promise<void> {
  const run = process.env[RUN_DIR_ENV];
  if (!run) return;
  const state = readJson<ClusterState>(path.join(run, 'shared.json'));
  if (state) await destroy(state);
  fs.rmSync(run, { recursive: true, force: true });
  delete process.env[RUN_DIR_ENV];
}
