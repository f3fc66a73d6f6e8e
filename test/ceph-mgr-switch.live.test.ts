// Switching a Pacific cluster between Ceph's own ceph-mgr and mgrpc keeps
// Ceph's modules' state: both keep the crash module's reports in the
// monitors' config-key store (mgr/crash/crash/<id>; mgrpc through
// ceph-feed's mirror of its store). A private loopback cluster with a real
// ceph-mgr (mgr.z) and mgrpc's local set-up (`npm start --ceph-conf`'s
// processes, manager x, Ceph's Python crash module):
//   1. ceph-mgr active: `ceph crash post` A
//   2. ceph-mgr stopped, mgrpc started: `ceph crash ls` lists A; post B
//   3. mgrpc stopped, ceph-mgr started again: `ceph crash ls` lists A and B
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { randomUUID } from 'crypto';
import { localProcesses } from '../cli/start';
import { describeCeph, startCephCluster, type CephCluster } from '../lib/testing/ceph-cluster';
import { ProcessSet, randomPortOffset, until } from './launcher';

describeCeph(__filename, { mgr: true })("switching between ceph-mgr and mgrpc keeps the crash module's reports", () => {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'mgrpc-ceph-switch-'));
  let cluster: CephCluster;
  let procs: ProcessSet | undefined;

  const active = (name: string) =>
    until(
      `mgr.${name} active and available`,
      async () => {
        const s = await cluster.ceph<{ active_name: string; available: boolean }>(['mgr', 'stat']);
        return s.active_name === name && s.available;
      },
      240_000,
    );
  /** A crash report as `ceph crash post` takes it. */
  const post = async () => {
    const stamp = new Date().toISOString().replace(/Z$/, '000Z');
    const id = `${stamp}_${randomUUID()}`;
    const r = await cluster.run(['crash', 'post', '-i', '-'], {
      input: JSON.stringify({ crash_id: id, timestamp: stamp, entity_name: 'osd.0', ceph_version: '16.2.15', backtrace: ['switch test'] }),
      timeoutMs: 60_000,
    });
    expect([r.code, r.stderr]).toEqual([0, '']);
    return id;
  };
  const listed = (ids: string[], who: string) =>
    until(
      `\`ceph crash ls\` through ${who} listing ${ids.length} crash(es)`,
      async () => {
        const ls = await cluster.ceph<Array<{ crash_id: string }>>(['crash', 'ls'], { timeoutMs: 30_000 }).catch(() => []);
        return ids.every((id) => ls.some((c) => c.crash_id === id)) && ls;
      },
      120_000,
    );

  beforeAll(async () => {
    cluster = await startCephCluster({ osds: 1, mds: false, mgrs: ['z'] });
  }, 420_000);

  afterAll(async () => {
    await procs?.stopAll();
    await cluster?.stop();
    fs.rmSync(dataDir, { recursive: true, force: true });
  }, 180_000);

  it('a crash posted through one manager is listed by the other, both ways', async () => {
    await active('z');
    const a = await post();
    await listed([a], 'ceph-mgr');

    // ceph-mgr out, mgrpc in
    await cluster.stopDaemon('mgr.z');
    await cluster.ceph(['mgr', 'fail', 'z']);
    procs = new ProcessSet(
      localProcesses({
        dataDir,
        host: '127.0.0.1',
        osds: 0,
        sim: false,
        backend: 'embedded',
        etcd: '',
        portOffset: randomPortOffset(),
        ceph: { conf: cluster.confPath, keyring: cluster.keyringPath, name: 'client.admin', fsid: cluster.fsid },
        managers: ['x'],
      }),
      { MGR_PYTHON_MODULES: 'crash' },
    );
    await procs.startAll(240_000);
    await active('x');
    await listed([a], 'mgrpc');
    const b = await post();
    await until(
      "the crash mgrpc took in the monitors' config-key store",
      async () => (await cluster.ceph<string[]>(['config-key', 'ls'])).includes(`mgr/crash/crash/${b}`),
      60_000,
    );

    // mgrpc out (it resigns), ceph-mgr in again
    await procs.stopAll();
    procs = undefined;
    await cluster.startDaemon('mgr.z');
    await active('z');
    await listed([a, b], 'ceph-mgr');
  }, 900_000);
});
