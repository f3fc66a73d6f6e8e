// A real, small Ceph Pacific cluster for the monitor commands' live test
// (Debian's ceph-mon, ceph-mgr, ceph-osd): one monitor, one manager and
// memstore OSDs on loopback, in a temporary directory, on a block of free
// ports. Every daemon runs in the
// foreground as our child, so stop() ends exactly the processes it started.
// mon() runs monitor commands through one long-lived python3-rados client
// (Ceph's own client library), as `ceph` does without its start-up cost.
import { ChildProcess, execFileSync, spawn } from 'child_process';
import * as crypto from 'crypto';
import * as fs from 'fs';
import * as net from 'net';
import * as os from 'os';
import * as path from 'path';
import * as readline from 'readline';
import { until } from '../../../lib/testing/wait';

const PROGRAMS = ['/usr/bin/ceph-mon', '/usr/bin/ceph-mgr', '/usr/bin/ceph-osd', '/usr/bin/ceph-authtool', '/usr/bin/monmaptool', '/usr/bin/python3'];

/** Why a cluster cannot start here (what is missing), or null. */
export function cephMissing(): string | null {
  const missing = PROGRAMS.filter((p) => !fs.existsSync(p));
  try {
    execFileSync('/usr/bin/python3', ['-c', 'import rados'], { stdio: 'ignore' });
  } catch {
    missing.push('python3-rados');
  }
  return missing.length ? `missing ${missing.join(', ')} (Debian's ceph-mon, ceph-mgr, ceph-osd, ceph-common, python3-rados; .ci/run installs them)` : null;
}

export interface MonReply {
  retcode: number;
  /** outbl */
  outb: string;
  /** outs */
  outs: string;
}

export interface TestCephCluster {
  dir: string;
  conf: string;
  fsid: string;
  /** Runs one monitor command (Ceph's JSON command); mgr commands are forwarded by the monitor as `ceph` does. */
  mon(cmd: Record<string, unknown>, inbuf?: string): Promise<MonReply>;
  /** Ends every daemon it started (SIGTERM, then SIGKILL) and removes the directory. */
  stop(): Promise<void>;
}

// One rados client; a JSON command per line in, a JSON reply per line out.
const CLIENT_PY = `
import json, sys, rados
c = rados.Rados(conffile=sys.argv[1])
c.connect(timeout=60)
print(json.dumps({"ready": True}), flush=True)
for line in sys.stdin:
    req = json.loads(line)
    try:
        r, outb, outs = c.mon_command(json.dumps(req["cmd"]), req.get("inbuf", "").encode(), timeout=60)
        print(json.dumps({"retcode": r, "outb": outb.decode("utf-8", "replace"), "outs": outs}), flush=True)
    except Exception as e:
        print(json.dumps({"retcode": -5, "outb": "", "outs": "client error: %s" % e}), flush=True)
`;

function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.once('error', () => resolve(false));
    s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
  });
}

/** A block of `n` consecutive loopback ports that are free now, in 20000..39999. */
async function freeBlock(n: number): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const base = 20000 + 10 * Math.floor(Math.random() * 1990);
    let ok = true;
    for (let p = base; p < base + n && ok; p++) ok = await portFree(p);
    if (ok) return base;
  }
  throw new Error(`no ${n} consecutive free ports between 20000 and 39999`);
}

export async function startCephCluster(opts: { osds?: number } = {}): Promise<TestCephCluster> {
  const missing = cephMissing();
  if (missing) throw new Error(missing);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mgrpc-mon-live-'));
  const procs: ChildProcess[] = [];
  const base = await freeBlock(40);
  const fsid = crypto.randomUUID();
  const conf = path.join(dir, 'ceph.conf');
  const keyring = path.join(dir, 'keyring');
  const mon = `[v2:127.0.0.1:${base},v1:127.0.0.1:${base + 1}]`;
  fs.mkdirSync(path.join(dir, 'out'));
  fs.writeFileSync(
    conf,
    `[global]
fsid = ${fsid}
mon_host = ${mon}
public_addr = 127.0.0.1
cluster_addr = 127.0.0.1
public_network = 127.0.0.1/32
ms_bind_ipv4 = true
ms_bind_ipv6 = false
ms_bind_port_min = ${base + 10}
ms_bind_port_max = ${base + 39}
auth_cluster_required = cephx
auth_service_required = cephx
auth_client_required = cephx
auth_allow_insecure_global_id_reclaim = false
keyring = ${keyring}
admin_socket = ${dir}/out/$name.asok
log_file = ${dir}/out/$name.log
run_dir = ${dir}/out
crash_dir = ${dir}/out
osd_pool_default_size = 1
osd_pool_default_min_size = 1
mon_allow_pool_size_one = true
mon_allow_pool_delete = true
osd_crush_chooseleaf_type = 0
mon_data_avail_warn = 2
mon_data_avail_crit = 1
rados_mon_op_timeout = 60

[mon]
mon_data = ${dir}/mon.$id
mon_initial_members = a
mon_cluster_log_file = ${dir}/out/cluster.log
# no module that listens on a port (other tests run their own)
mgr_initial_modules = iostat

[mgr]
mgr_data = ${dir}/mgr.$id
keyring = ${dir}/mgr.$id/keyring

[osd]
osd_data = ${dir}/osd$id
keyring = ${dir}/osd$id/keyring
osd_objectstore = memstore
memstore_device_bytes = 1073741824
`,
  );
  const run = (cmd: string, args: string[], input?: string) => execFileSync(cmd, args, { input, stdio: ['pipe', 'pipe', 'pipe'], timeout: 120000 }).toString();
  const daemon = (cmd: string, args: string[]) => {
    const log = fs.openSync(path.join(dir, 'out', `${path.basename(cmd)}-${procs.length}.stderr`), 'a');
    const p = spawn(cmd, ['-f', '-c', conf, ...args], { stdio: ['ignore', log, log] });
    procs.push(p);
    return p;
  };
  let client: ChildProcess | null = null;
  const stop = async () => {
    client?.kill('SIGTERM');
    const alive = procs.filter((p) => p.exitCode === null && p.signalCode === null);
    await Promise.all(
      alive.map(
        (p) =>
          new Promise<void>((resolve) => {
            const t = setTimeout(() => p.kill('SIGKILL'), 10000);
            p.once('exit', () => {
              clearTimeout(t);
              resolve();
            });
            p.kill('SIGTERM');
          }),
      ),
    );
    fs.rmSync(dir, { recursive: true, force: true });
  };
  try {
    run('/usr/bin/ceph-authtool', ['--create-keyring', keyring, '--gen-key', '-n', 'mon.', '--cap', 'mon', 'allow *']);
    run('/usr/bin/ceph-authtool', [
      keyring,
      '--gen-key',
      '-n',
      'client.admin',
      '--cap',
      'mon',
      'allow *',
      '--cap',
      'osd',
      'allow *',
      '--cap',
      'mds',
      'allow *',
      '--cap',
      'mgr',
      'allow *',
    ]);
    run('/usr/bin/monmaptool', ['--create', '--fsid', fsid, '--addv', 'a', mon, '--clobber', path.join(dir, 'monmap')]);
    fs.mkdirSync(path.join(dir, 'mon.a'));
    run('/usr/bin/ceph-mon', ['-c', conf, '--mkfs', '-i', 'a', '--monmap', path.join(dir, 'monmap'), '--keyring', keyring]);
    daemon('/usr/bin/ceph-mon', ['-i', 'a']);

    // The command client (it waits for the monitor to answer).
    client = spawn('/usr/bin/python3', ['-c', CLIENT_PY, conf], { stdio: ['pipe', 'pipe', 'pipe'] });
    const lines = readline.createInterface({ input: client.stdout! });
    const waiting: Array<(line: string) => void> = [];
    lines.on('line', (l) => waiting.shift()?.(l));
    let stderr = '';
    client.stderr!.on('data', (d) => (stderr += d));
    let exited: Error | null = null;
    const rejects = new Set<(e: Error) => void>();
    client.once('exit', () => {
      exited = new Error(`the rados client exited: ${stderr.slice(-500)}`);
      for (const r of rejects) r(exited);
    });
    const next = () =>
      new Promise<string>((resolve, reject) => {
        if (exited) return reject(exited);
        rejects.add(reject);
        waiting.push((line) => {
          rejects.delete(reject);
          resolve(line);
        });
      });
    await next(); // ready
    let queue = Promise.resolve();
    const monCommand = (cmd: Record<string, unknown>, inbuf = ''): Promise<MonReply> => {
      const p = queue.then(async () => {
        const reply = next();
        client!.stdin!.write(JSON.stringify({ cmd, inbuf }) + '\n');
        return JSON.parse(await reply) as MonReply;
      });
      queue = p.then(
        () => undefined,
        () => undefined,
      );
      return p;
    };
    const must = async (cmd: Record<string, unknown>, inbuf = '') => {
      const r = await monCommand(cmd, inbuf);
      if (r.retcode !== 0) throw new Error(`${JSON.stringify(cmd)}: ${r.retcode} ${r.outs}`);
      return r.outb;
    };

    fs.mkdirSync(path.join(dir, 'mgr.x'));
    const mgrKey = await must({ prefix: 'auth get-or-create', entity: 'mgr.x', caps: ['mon', 'allow profile mgr', 'osd', 'allow *', 'mds', 'allow *'] });
    fs.writeFileSync(path.join(dir, 'mgr.x', 'keyring'), mgrKey);
    daemon('/usr/bin/ceph-mgr', ['-i', 'x']);

    for (let i = 0; i < (opts.osds ?? 1); i++) {
      const uuid = crypto.randomUUID();
      const secret = run('/usr/bin/ceph-authtool', ['--gen-print-key']).trim();
      const id = (await must({ prefix: 'osd new', uuid, format: 'json' }, JSON.stringify({ cephx_secret: secret }))).trim();
      const osdId = String(JSON.parse(id).osdid ?? id);
      fs.mkdirSync(path.join(dir, `osd${osdId}`));
      run('/usr/bin/ceph-authtool', ['--create-keyring', path.join(dir, `osd${osdId}`, 'keyring'), '--name', `osd.${osdId}`, '--add-key', secret]);
      run('/usr/bin/ceph-osd', ['-c', conf, '-i', osdId, '--mkfs', '--osd-uuid', uuid]);
      daemon('/usr/bin/ceph-osd', ['-i', osdId]);
    }
    const osds = opts.osds ?? 1;
    await until('OSDs up', async () => JSON.parse(await must({ prefix: 'osd stat', format: 'json' })).num_up_osds === osds, 120000, 500);
    await until('a manager available', async () => JSON.parse(await must({ prefix: 'mgr stat', format: 'json' })).available, 120000, 500);
    return { dir, conf, fsid, mon: monCommand, stop };
  } catch (e) {
    await stop();
    throw e;
  }
}
