// mgrctl: the operator's command line (the `ceph` CLI's manager part).
//   mgrctl <command words...> [--format json|json-pretty|plain]
//   mgrctl tell mgr <command words...>
//   mgrctl get <what>        cluster-state's JSON for get(what)
//   mgrctl proof ADDR METHOD the x-mgr-proof header for one raw gRPC call
//   mgrctl status | help
// Address: --addr or MGR_ADDR; otherwise the active manager named by the
// MgrMap (standby service at MGR_STANDBY_ADDR, default 127.0.0.1:7200),
// waiting up to --wait-ms while no manager is active. Credentials:
// --name (default client.admin) with its key from MGR_KEYRING (default
// ./data/keyring), or MGR_KEY; MGR_ENTITY sets the default name. Exit status = |retcode|.
import * as fs from 'fs';
import { ClientError, Metadata, Status } from 'nice-grpc';
import { isUnreachable, openChannel, makeClient, tlsFromEnv } from '../lib/client';
import { DaemonServerServiceDefinition } from '../lib/gen/ceph/mgr/v1/daemon_server';
import { ClusterStateServiceDefinition } from '../lib/gen/ceph/mgr/v1/cluster_state';
import { keyFromKeyring } from '../lib/keyring';
import { asCredentials, CallCredentials, signCall } from '../lib/auth/proof';
import { provisionKeyring } from '../lib/auth/provision';
import { provisionCerts } from '../lib/auth/certs';
import type { CommandDescriptor, CommandResult } from '../lib/gen/ceph/mgr/v1/common';
import { parseSignature } from '../lib/command-descriptor';
import { activeDaemonServer, StandbyClient } from '../lib/standby-client';
import type { MgrMap } from '../lib/gen/ceph/mgr/v1/standby';
import { ANSWERED_BY_TRAILER } from '../lib/headers';
import { Waiter } from '../lib/waiter';
import { mapWords, MappedCommand, UsageError } from './args';
import { cacheCommands, cachedCommands } from './descriptors';

const USAGE = `usage: mgrctl [--addr HOST:PORT] [--name ENTITY] [--format json|json-pretty|plain] [--wait-ms N] [-i FILE] <command words...>
       mgrctl tell mgr <command words...>
       mgrctl get <what>          (cluster-state's get(what) JSON; MGR_CLUSTER_STATE_ADDR)
       mgrctl proof HOST:PORT /package.Service/Method   (an x-mgr-proof header for one raw call: buf curl, grpcurl)
       mgrctl keyring FILE [MANAGER...]   (a keyring with every entity the services need, e.g. for a Kubernetes Secret)
       mgrctl certs DIR [--ca-dir DIR] [--namespace NS] [--ip ADDR]... [--renew] [--password USER]... NAME...   (a CA and a TLS certificate per service name, for mutual TLS)
       mgrctl status | help
environment: MGR_ADDR (default: the active manager from the MgrMap), MGR_STANDBY_ADDR (127.0.0.1:7200),
             MGR_KEYRING (./data/keyring), MGR_KEY, MGR_CLUSTER_STATE_ADDR (127.0.0.1:7100)
--wait-ms: how long to wait for an active manager during a failover (default 30000)
-i FILE: send FILE's contents as the command's input buffer ('-' reads standard input), as ceph -i
`;

interface Options {
  /** "" : follow the MgrMap. */
  addr: string;
  waitMs: number;
  /** -i: the input buffer's file ('-': standard input); "" : none. */
  inFile: string;
  name: string;
  format: string;
  timeoutMs: number;
  words: string[];
}

function parseArgv(argv: string[], env: NodeJS.ProcessEnv): Options {
  const o: Options = { addr: env.MGR_ADDR || '', waitMs: 30000, inFile: '', name: env.MGR_ENTITY || 'client.admin', format: '', timeoutMs: 60000, words: [] };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const take = (flag: string) => {
      const eq = a.indexOf('=');
      if (eq >= 0) return a.slice(eq + 1);
      if (i + 1 >= argv.length) throw new UsageError(`${flag} needs a value`);
      return argv[++i];
    };
    if (a === '--addr' || a.startsWith('--addr=')) o.addr = take('--addr');
    else if (a === '--name' || a.startsWith('--name=') || a === '-n') o.name = take('--name');
    else if (a === '--format' || a.startsWith('--format=') || a === '-f') o.format = take('--format');
    else if (a === '--timeout-ms' || a.startsWith('--timeout-ms=')) o.timeoutMs = Number(take('--timeout-ms'));
    else if (a === '--wait-ms' || a.startsWith('--wait-ms=')) o.waitMs = Number(take('--wait-ms'));
    else if (a === '-i' || a === '--in-file' || a.startsWith('--in-file=')) o.inFile = take('-i');
    else if (a === '-h' || a === '--help') o.words = ['help'];
    else o.words.push(a);
  }
  if (!(o.waitMs >= 0)) throw new UsageError('--wait-ms: expected a number of milliseconds');
  if (o.format && !['json', 'json-pretty', 'plain'].includes(o.format)) throw new UsageError(`--format: '${o.format}' is not json, json-pretty or plain`);
  return o;
}

/** Who mgrctl calls as: --name with MGR_KEY or its key from the keyring; each call carries a proof made with it, never the key. */
function credentials(o: Options, env: NodeJS.ProcessEnv): CallCredentials | undefined {
  let key = env.MGR_KEY || '';
  if (!key) {
    const file = env.MGR_KEYRING || './data/keyring';
    if (fs.existsSync(file)) key = keyFromKeyring(file, o.name);
  }
  return key ? asCredentials({ entity: o.name, key }) : undefined;
}

function exitFor(e: unknown, addr: string, answered = false): { message: string; code: number } {
  if (e instanceof ClientError) {
    // daemon-server answered UNAVAILABLE itself: its message names what is down (module-host, a standby...).
    if (e.code === Status.UNAVAILABLE && answered) return { message: `daemon-server at ${addr}: ${e.details}`, code: 1 };
    if (e.code === Status.UNAVAILABLE) return { message: `cannot reach daemon-server at ${addr}: is it running? (npm start) [${e.details}]`, code: 1 };
    if (e.code === Status.DEADLINE_EXCEEDED) return { message: `timed out: ${e.details}`, code: 110 };
    if (e.code === Status.PERMISSION_DENIED) return { message: `Error EACCES: ${e.details}`, code: 13 };
    if (e.code === Status.UNAUTHENTICATED) return { message: `authentication failed: ${e.details} (check --name and MGR_KEYRING / MGR_KEY)`, code: 13 };
    return { message: `${Status[e.code]}: ${e.details}`, code: 1 };
  }
  return { message: (e as Error)?.message ?? String(e), code: 1 };
}

/** What one mgrctl run printed, and its exit code. */
export interface MgrctlResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs mgrctl in this process and keeps what it prints (for tests, benchmarks and the launcher's checks). */
export async function runCaptured(argv: string[], env: NodeJS.ProcessEnv): Promise<MgrctlResult> {
  let stdout = '';
  let stderr = '';
  const code = await run(
    argv,
    env,
    (s) => (stdout += s),
    (s) => (stderr += s),
  );
  return { code, stdout, stderr };
}

export async function run(argv: string[], env: NodeJS.ProcessEnv, write: (s: string) => void, writeErr: (s: string) => void): Promise<number> {
  let o: Options;
  try {
    o = parseArgv(argv, env);
  } catch (e) {
    writeErr(`${(e as Error).message}\n${USAGE}`);
    return 22;
  }
  let words = o.words;
  if (!words.length) {
    writeErr(USAGE);
    return 22;
  }
  if (words[0] === 'tell') {
    if (words[1] !== 'mgr' && !String(words[1]).startsWith('mgr.')) {
      writeErr(`mgrctl tell: only 'mgr' targets are served here, got '${words[1] ?? ''}'\n`);
      return 22;
    }
    words = words.slice(2);
  }

  if (words[0] === 'keyring' && o.words[0] !== 'tell') {
    // A keyring for a deployment whose keyring is read-only (a Kubernetes Secret): everything the services need.
    if (words.length < 2) {
      writeErr('usage: mgrctl keyring FILE [MANAGER...]   (makes FILE, or adds what it lacks: client.admin, client.ro, the services, mgr.MANAGER)\n');
      return 22;
    }
    const r = provisionKeyring(words[1], words.slice(2));
    write(r.created ? `created ${words[1]}\n` : `${words[1]}: ${r.added.length ? `added ${r.added.join(', ')}` : 'nothing to add'}\n`);
    return 0;
  }

  if (words[0] === 'certs' && o.words[0] !== 'tell') {
    // TLS for a deployment: the CA and one certificate per service name (docs/SECURITY.md "Certificates").
    const usage =
      'usage: mgrctl certs DIR [--ca-dir DIR] [--namespace NS] [--ip ADDR]... [--renew] [--password USER]... NAME...   (makes DIR/ca.crt and DIR/NAME.crt per name where missing; the CA key in --ca-dir (default DIR); --renew re-issues the named ones; --password makes DIR/USER.password)\n';
    const names: string[] = [];
    const passwords: string[] = [];
    let caDir: string | undefined;
    const ips: string[] = [];
    let namespace: string | undefined;
    let renew = false;
    const rest = words.slice(2);
    for (let i = 0; i < rest.length; i++) {
      // --flag VALUE or --flag=VALUE
      const [flag, inline] =
        rest[i].startsWith('--') && rest[i].includes('=')
          ? [rest[i].slice(0, rest[i].indexOf('=')), rest[i].slice(rest[i].indexOf('=') + 1)]
          : [rest[i], undefined];
      const value = () => inline ?? rest[++i];
      if (flag === '--renew') renew = true;
      else if (flag === '--namespace' && (inline !== undefined || i + 1 < rest.length)) namespace = value();
      else if (flag === '--password' && (inline !== undefined || i + 1 < rest.length)) passwords.push(value());
      else if (flag === '--ca-dir' && (inline !== undefined || i + 1 < rest.length)) caDir = value();
      else if (flag === '--ip' && (inline !== undefined || i + 1 < rest.length)) ips.push(value());
      else if (flag.startsWith('-')) {
        writeErr(`mgrctl certs: unknown option or missing value '${rest[i]}'\n${usage}`);
        return 22;
      } else names.push(rest[i]);
    }
    if (words.length < 2 || words[1].startsWith('-') || !names.length) {
      writeErr(usage);
      return 22;
    }
    try {
      const r = provisionCerts(words[1], names, { namespace, renew, passwords, caDir, ips });
      write(`${words[1]}: ${r.created.length ? `made ${r.created.join(', ')}` : 'nothing to make'}${r.kept.length ? `; kept ${r.kept.join(', ')}` : ''}\n`);
      return 0;
    } catch (e) {
      writeErr(`mgrctl certs: ${(e as Error).message}\n`);
      return 22;
    }
  }

  if (words[0] === 'proof' && o.words[0] !== 'tell') {
    // For raw gRPC tools (buf curl, grpcurl): a one-call proof, never the key.
    if (words.length !== 3 || !/^\/[^/]+\/[^/]+$/.test(words[2])) {
      writeErr('usage: mgrctl [--name ENTITY] proof HOST:PORT /package.Service/Method   (prints the x-mgr-proof header for one call)\n');
      return 22;
    }
    const creds = credentials(o, env);
    if (!creds) {
      writeErr(`mgrctl proof: no key for ${o.name} (MGR_KEYRING or MGR_KEY)\n`);
      return 2;
    }
    write(signCall(creds, words[1], words[2]).proof + '\n');
    return 0;
  }

  if (words[0] === 'get' && o.words[0] !== 'tell') {
    if (words.length !== 2) {
      writeErr('usage: mgrctl get <what>   e.g. mgrctl get pg_summary\n');
      return 22;
    }
    const addr = env.MGR_CLUSTER_STATE_ADDR || '127.0.0.1:7100';
    const ch = openChannel(addr, tlsFromEnv(env));
    try {
      const cs = makeClient(ClusterStateServiceDefinition, ch, { credentials: credentials(o, env) });
      const res = await cs.get({ what: words[1] }, { deadline: o.timeoutMs });
      const text = Buffer.from(res.json).toString('utf8');
      write(o.format === 'json' ? text + '\n' : JSON.stringify(JSON.parse(text), null, 4) + '\n');
      return 0;
    } catch (e) {
      const f = exitFor(e, addr);
      writeErr(f.message.replace('daemon-server', 'cluster-state') + '\n');
      return f.code;
    } finally {
      ch.close();
    }
  }

  if (words.length === 1 && words[0] === 'help') write(USAGE + '\ncommands (from the server):\n');
  let inbuf = Buffer.alloc(0);
  if (o.inFile) {
    try {
      inbuf = fs.readFileSync(o.inFile === '-' ? 0 : o.inFile);
    } catch (e) {
      writeErr(`mgrctl: cannot read -i ${o.inFile}: ${(e as Error).message}\n`);
      return 2;
    }
  }
  const tls = tlsFromEnv(env);
  const finder = o.addr ? null : new ActiveFinder(env.MGR_STANDBY_ADDR || '127.0.0.1:7200', tls, writeErr, credentials(o, env));
  let addr = o.addr;
  let ch: ReturnType<typeof openChannel> | null = null;
  let answered = false;
  const onTrailer = (t: Metadata) => {
    if (t.get(ANSWERED_BY_TRAILER)) answered = true;
  };
  try {
    const creds = credentials(o, env);
    const waitUntil = Date.now() + o.waitMs;
    // A failover while we talk: the old active answers UNAVAILABLE, is
    // gone, or (hung) does not answer at all while the MgrMap names a new
    // one; find the new one and send again, until --wait-ms runs out. A
    // command that changes something (perm w or x) is never abandoned for a
    // moved map: the old active may have run it already (`mgr fail` moves
    // the map itself), so it is sent again only after an UNAVAILABLE answer.
    let r: CommandResult;
    for (;;) {
      if (finder) addr = await finder.find(waitUntil);
      ch = openChannel(addr, tls);
      const ds = makeClient(DaemonServerServiceDefinition, ch, { credentials: creds });
      const moved = finder?.movedFrom(addr);
      answered = false;
      let changes = false;
      try {
        const fetchDescriptors = async () => {
          const all = (await ds.getCommandDescriptions({}, { deadline: o.timeoutMs, signal: moved?.signal, onTrailer })).commands;
          cacheCommands(addr, all, env);
          return all;
        };
        const send = async (m: MappedCommand, descs: CommandDescriptor[]) => {
          if (o.format) m.args.format = o.format;
          changes = changesState(descs, m.prefix);
          const res = await ds.command(
            { prefix: m.prefix, args: JSON.stringify(m.args), inbuf },
            { deadline: o.timeoutMs, signal: changes ? undefined : moved?.signal, onTrailer },
          );
          return res.result ?? { retcode: -5, stdout: '', stderr: 'no result' };
        };
        // A command known from the cache goes without asking for the
        // descriptions first; help always asks.
        let mapped: MappedCommand | null = null;
        const cached = words[0] === 'help' ? [] : cachedCommands(addr, env);
        if (cached.length) {
          try {
            mapped = mapWords(words, cached);
          } catch {
            mapped = null;
          }
        }
        if (!mapped) {
          const descs = await fetchDescriptors();
          r = await send(mapWords(words, descs), descs);
        } else {
          r = await send(mapped, cached);
          if (r.retcode === -22 && /^(No handler found|Invalid command)/.test(r.stderr)) {
            // the local list was stale or incomplete: map again with the server's
            const descs = await fetchDescriptors();
            const again = mapWords(words, descs);
            if (again.prefix !== mapped.prefix || JSON.stringify({ ...again.args, format: mapped.args.format }) !== JSON.stringify(mapped.args))
              r = await send(again, descs);
          }
        }
        break;
      } catch (e) {
        const abandoned = !changes && !!moved?.signal.aborted;
        const followMap = abandoned || (e instanceof ClientError && e.code === Status.UNAVAILABLE);
        if (!finder || !followMap || Date.now() >= waitUntil) throw e;
        finder.retrying(addr, abandoned ? 'the MgrMap names another active manager' : (e as ClientError).details);
        ch.close();
        ch = null;
        // A moved map is followed at once; an UNAVAILABLE answer waits for the map to change (or 300 ms).
        if (!abandoned) await finder.mapChange(300);
      } finally {
        moved?.done();
      }
    }
    if (r.stdout) write(r.stdout.endsWith('\n') ? r.stdout : r.stdout + '\n');
    if (r.stderr) writeErr(r.retcode ? `Error ${errnoName(r.retcode)}: ${r.stderr}\n` : `${r.stderr}\n`);
    return Math.min(255, Math.abs(r.retcode));
  } catch (e) {
    if (e instanceof UsageError) {
      writeErr(`${e.message}\n`);
      return 22;
    }
    if (e instanceof NoActiveManager) {
      writeErr(e.message + '\n');
      return 11; // EAGAIN
    }
    const f = exitFor(e, addr, answered);
    writeErr(f.message + '\n');
    return f.code;
  } finally {
    ch?.close();
    finder?.close();
  }
}

class NoActiveManager extends Error {}

/** Whether the command `prefix` changes something (its descriptor's perm has w or x). */
function changesState(descs: CommandDescriptor[], prefix: string): boolean {
  return descs.some((d) => {
    try {
      return /[wx]/.test(d.perm) && parseSignature(d.cmd).prefix === prefix;
    } catch {
      return false; // a module's malformed descriptor matches nothing
    }
  });
}

/**
 * Finds the active manager's daemon-server through the MgrMap: asked once,
 * then followed on a watch, so a failover is seen the moment the map
 * changes rather than at the next poll.
 */
class ActiveFinder {
  private sb: StandbyClient;
  private told = false;
  private latest: MgrMap | null = null;
  private watching: AbortController | null = null;
  private changed = new Waiter();
  private listeners = new Set<(m: MgrMap) => void>();

  constructor(
    private readonly standbyAddr: string,
    tls: ReturnType<typeof tlsFromEnv>,
    private readonly writeErr: (s: string) => void,
    creds: CallCredentials | undefined,
  ) {
    this.sb = new StandbyClient(standbyAddr, tls, creds);
  }

  private watch(): void {
    if (this.watching) return;
    this.watching = new AbortController();
    this.sb.watch((m) => {
      if (this.latest && m.epoch < this.latest.epoch) return;
      this.latest = m;
      this.changed.wake();
      for (const l of this.listeners) l(m);
    }, this.watching.signal);
  }

  async find(until: number): Promise<string> {
    // A standby service that does not answer at all is most likely not
    // running: give up on it sooner than on a failover in progress.
    const unreachableUntil = Math.min(until, Date.now() + 5000);
    for (;;) {
      let why: string;
      try {
        const map = this.latest ?? (await this.sb.getMgrMap(3000)).map;
        this.latest ??= map;
        this.watch();
        const addr = activeDaemonServer(map);
        if (addr) return addr;
        why = map.activeName ? `mgr.${map.activeName} is active but not available yet` : 'no manager is active';
      } catch (e) {
        if (!isUnreachable(e)) throw e;
        why = `cannot reach the standby service at ${this.standbyAddr}: is it running? (npm start; or set MGR_ADDR to a daemon-server)`;
        if (Date.now() >= unreachableUntil) throw new NoActiveManager(why);
      }
      if (Date.now() >= until) throw new NoActiveManager(`${why}; gave up waiting (--wait-ms)`);
      if (!this.told) this.writeErr(`${why}; waiting for an active manager...\n`);
      this.told = true;
      await this.mapChange(Math.min(1000, until - Date.now()));
    }
  }

  /** Waits for the next map (or ms; a map that came meanwhile ends it at once). */
  mapChange(ms: number): Promise<void> {
    return this.changed.wait(Math.max(0, ms));
  }

  /** Aborts when the map names another available active than `addr` (a call to it is then abandoned and sent again). */
  movedFrom(addr: string): { signal: AbortSignal; done(): void } {
    const ac = new AbortController();
    const check = (m: MgrMap) => {
      const now = activeDaemonServer(m);
      if (now && now !== addr) ac.abort();
    };
    this.listeners.add(check);
    if (this.latest) check(this.latest);
    return { signal: ac.signal, done: () => this.listeners.delete(check) };
  }

  retrying(addr: string, details: string): void {
    if (!this.told) this.writeErr(`manager at ${addr} is not answering as active (${details}); following the MgrMap...\n`);
    this.told = true;
  }

  close(): void {
    this.watching?.abort();
    this.sb.close();
  }
}

function errnoName(rc: number): string {
  const names: Record<number, string> = {
    [-22]: 'EINVAL',
    [-2]: 'ENOENT',
    [-13]: 'EACCES',
    [-16]: 'EBUSY',
    [-5]: 'EIO',
    [-95]: 'EOPNOTSUPP',
    [-110]: 'ETIMEDOUT',
    [-1]: 'EPERM',
  };
  return names[rc] ?? String(rc);
}

if (require.main === module) {
  run(
    process.argv.slice(2),
    process.env,
    (s) => process.stdout.write(s),
    (s) => process.stderr.write(s),
  ).then(
    (code) => {
      // Not process.exit() at once: a large answer written to a pipe is
      // flushed asynchronously and would be cut off.
      process.exitCode = code;
      setTimeout(() => process.exit(code), 5000).unref();
    },
    (e) => {
      process.stderr.write(`mgrctl: ${(e as Error).message}\n`);
      process.exit(1);
    },
  );
}
