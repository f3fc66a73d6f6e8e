// A real single-member etcd 3 (Debian's etcd-server: /usr/bin/etcd) for tests
// and benchmarks: its own random loopback ports and a temp data directory,
// waited on until it answers, stopped (and its directory removed) by stop().
// `secure` starts it as a deployment does: https with client certificates
// required (--client-cert-auth) and etcd's authentication enabled, with a
// root user and one user per given name limited to its key prefix (set up
// with Debian's etcdctl, as the compose file's etcd-auth service does).
import { execFile, spawn, ChildProcess } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as http from 'http';
import * as https from 'https';
import { promisify } from 'util';
import { freePort } from './wait';

export const ETCD_BINARY = process.env.MGR_TEST_ETCD ?? '/usr/bin/etcd';
export const ETCDCTL_BINARY = process.env.MGR_TEST_ETCDCTL ?? '/usr/bin/etcdctl';

export interface SecureEtcdOptions {
  /** etcd's server certificate, key, and the CA its clients' certificates must chain to. */
  ca: string;
  cert: string;
  key: string;
  /** Users made before authentication is enabled: each may read and write its prefix alone. */
  users: Array<{ name: string; password: string; prefix: string }>;
}

export interface TestEtcd {
  /** Client URL, e.g. http://127.0.0.1:23791 (https:// when secure). */
  endpoint: string;
  /** secure: root's password (etcdctl --user root:<it>). */
  rootPassword?: string;
  dataDir: string;
  process: ChildProcess;
  /** SIGTERM, wait for exit, remove the data directory. Idempotent. */
  stop(): Promise<void>;
}

/** Why etcd cannot run here, or null when it can. */
export function etcdMissing(): string | null {
  if (!fs.existsSync(ETCD_BINARY)) return `${ETCD_BINARY} not found: install Debian's etcd-server (apt-get install etcd-server), or set MGR_TEST_ETCD`;
  return null;
}

/** Why a secure etcd cannot be set up here (etcdctl makes its users), or null. */
export function etcdctlMissing(): string | null {
  return fs.existsSync(ETCDCTL_BINARY)
    ? null
    : `${ETCDCTL_BINARY} not found: install Debian's etcd-client (apt-get install etcd-client), or set MGR_TEST_ETCDCTL`;
}

/** A free loopback port (the kernel's pick; released before etcd binds it). */

function healthy(endpoint: string, secure?: SecureEtcdOptions): Promise<boolean> {
  return new Promise((resolve) => {
    const get = secure ? https.get : http.get;
    const tls = secure ? { ca: fs.readFileSync(secure.ca), cert: fs.readFileSync(secure.cert), key: fs.readFileSync(secure.key) } : {};
    const req = get(`${endpoint}/health`, { timeout: 1000, ...tls }, (res) => {
      let body = '';
      res.on('data', (c) => (body += c));
      res.on('end', () => resolve(res.statusCode === 200 && body.includes('"health":"true"')));
    });
    req.on('error', () => resolve(false));
    req.on('timeout', () => {
      req.destroy();
      resolve(false);
    });
  });
}

export async function startEtcd(
  opts: { timeoutMs?: number; /** default: a free one */ clientPort?: number; secure?: SecureEtcdOptions } = {},
): Promise<TestEtcd> {
  const missing = etcdMissing() ?? (opts.secure ? etcdctlMissing() : null);
  if (missing) throw new Error(missing);
  const secure = opts.secure;
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'mgrpc-etcd-'));
  const [clientPort, peerPort] = [opts.clientPort ?? (await freePort()), await freePort()];
  const endpoint = `${secure ? 'https' : 'http'}://127.0.0.1:${clientPort}`;
  const peer = `http://127.0.0.1:${peerPort}`;
  const child = spawn(
    ETCD_BINARY,
    [
      '--name',
      'test',
      '--data-dir',
      dataDir,
      '--listen-client-urls',
      endpoint,
      '--advertise-client-urls',
      endpoint,
      '--listen-peer-urls',
      peer,
      '--initial-advertise-peer-urls',
      peer,
      '--initial-cluster',
      `test=${peer}`,
      '--initial-cluster-state',
      'new',
      '--logger',
      'zap',
      '--log-level',
      'error',
      ...(secure ? ['--cert-file', secure.cert, '--key-file', secure.key, '--trusted-ca-file', secure.ca, '--client-cert-auth'] : []),
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let stderr = '';
  child.stderr!.on('data', (c) => {
    stderr = (stderr + c).slice(-4000);
  });
  let exited = false;
  const exit = new Promise<void>((r) =>
    child.once('exit', () => {
      exited = true;
      r();
    }),
  );
  let stopping: Promise<void> | null = null;
  const handle: TestEtcd = {
    endpoint,
    dataDir,
    process: child,
    stop() {
      stopping ??= (async () => {
        if (!exited) {
          child.kill('SIGTERM');
          const t = setTimeout(() => child.kill('SIGKILL'), 5000);
          await exit;
          clearTimeout(t);
        }
        fs.rmSync(dataDir, { recursive: true, force: true });
      })();
      return stopping;
    },
  };
  const deadline = Date.now() + (opts.timeoutMs ?? 20000);
  while (!(await healthy(endpoint, secure))) {
    if (exited || Date.now() > deadline) {
      await handle.stop();
      throw new Error(`etcd did not become healthy at ${endpoint}${exited ? ' (it exited)' : ''}: ${stderr.trim().slice(-1000)}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  if (secure) {
    try {
      handle.rootPassword = await enableAuth(endpoint, secure);
    } catch (e) {
      await handle.stop();
      throw e;
    }
  }
  return handle;
}

/** Runs etcdctl against a secure etcd with its own certificate (and as `user`, once authentication is on). */
export async function etcdctl(endpoint: string, secure: SecureEtcdOptions, args: string[], user?: string): Promise<string> {
  const tls = ['--endpoints', endpoint, '--cacert', secure.ca, '--cert', secure.cert, '--key', secure.key, '--dial-timeout', '5s', '--command-timeout', '10s'];
  const { stdout } = await promisify(execFile)(ETCDCTL_BINARY, [...tls, ...(user ? ['--user', user] : []), ...args], {
    env: { ...process.env, ETCDCTL_API: '3' },
    timeout: 20000,
  });
  return stdout;
}

/** The users, each limited to its prefix, and root; then authentication on. Returns root's password. */
async function enableAuth(endpoint: string, secure: SecureEtcdOptions): Promise<string> {
  const rootPassword = `root-${process.pid}-${Date.now()}`;
  await etcdctl(endpoint, secure, ['user', 'add', 'root', `--new-user-password=${rootPassword}`]);
  for (const u of secure.users) {
    await etcdctl(endpoint, secure, ['role', 'add', u.name]);
    await etcdctl(endpoint, secure, ['role', 'grant-permission', u.name, '--prefix=true', 'readwrite', u.prefix]);
    await etcdctl(endpoint, secure, ['user', 'add', u.name, `--new-user-password=${u.password}`]);
    await etcdctl(endpoint, secure, ['user', 'grant-role', u.name, u.name]);
  }
  await etcdctl(endpoint, secure, ['auth', 'enable']);
  return rootPassword;
}

export { freePort };
