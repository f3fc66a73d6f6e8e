// A real single-member etcd 3 (Debian's etcd-server: /usr/bin/etcd) for tests
// and benchmarks: its own random loopback ports and a temp data directory,
// waited on until it answers, stopped (and its directory removed) by stop().
import { spawn, ChildProcess } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as http from 'http';
import { freePort } from './wait';

export const ETCD_BINARY = process.env.MGR_TEST_ETCD ?? '/usr/bin/etcd';

export interface TestEtcd {
  /** Client URL, e.g. http://127.0.0.1:23791. */
  endpoint: string;
  dataDir: string;
  process: ChildProcess;
  /** SIGTERM, wait for exit, remove the data directory. Idempotent. */
  stop(): Promise<void>;
}

/** Why etcd cannot run here, or null when it can. */
export function etcdMissing(): string | null {
  return fs.existsSync(ETCD_BINARY) ? null : `${ETCD_BINARY} not found: install Debian's etcd-server (apt-get install etcd-server), or set MGR_TEST_ETCD`;
}

/** A free loopback port (the kernel's pick; released before etcd binds it). */

function healthy(endpoint: string): Promise<boolean> {
  return new Promise((resolve) => {
    const req = http.get(`${endpoint}/health`, { timeout: 1000 }, (res) => {
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

export async function startEtcd(opts: { timeoutMs?: number; /** default: a free one */ clientPort?: number } = {}): Promise<TestEtcd> {
  const missing = etcdMissing();
  if (missing) throw new Error(missing);
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'mgrpc-etcd-'));
  const [clientPort, peerPort] = [opts.clientPort ?? (await freePort()), await freePort()];
  const endpoint = `http://127.0.0.1:${clientPort}`;
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
  while (!(await healthy(endpoint))) {
    if (exited || Date.now() > deadline) {
      await handle.stop();
      throw new Error(`etcd did not become healthy at ${endpoint}${exited ? ' (it exited)' : ''}: ${stderr.trim().slice(-1000)}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return handle;
}

export { freePort };
