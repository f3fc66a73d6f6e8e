// The way an operator reaches Ceph's own Python modules: `mgrctl` (a real
// process) -> daemon-server (argument validation against the module's own
// descriptors, caps) -> module-host -> the module's python3 process, against
// a cluster-state holding the simulated cluster's maps.
import { execFile } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { openChannel, makeClient } from '../../../lib/client';
import { ClusterStateServiceDefinition } from '../../../lib/gen/ceph/mgr/v1/cluster_state';
import { ModuleHostServiceDefinition } from '../../../lib/gen/ceph/mgr/v1/module_host';
import { startClusterState, ClusterStateHandle } from '../../cluster-state/server';
import { startDaemonServer, DaemonServerHandle } from '../../daemon-server/server';
import { SimCluster } from '../../../sim/cluster';
import { startModuleHost, ModuleHostHandle } from '../server';
import { DEFAULT_CEPH_MGR_DIR } from '../domain/python-modules';
import { describeWith } from '../../../lib/testing/external';

const ROOT = path.resolve(__dirname, '../../..');
const HAVE_CEPH =
  ['mgr_module.py', 'status', 'crash', 'iostat'].every((f) => fs.existsSync(path.join(DEFAULT_CEPH_MGR_DIR, f))) && fs.existsSync('/usr/bin/python3');
const describeCeph = describeWith(
  !HAVE_CEPH && `Ceph's manager modules (${DEFAULT_CEPH_MGR_DIR}) or /usr/bin/python3 are missing`,
  "install Debian's ceph-mgr, ceph-mgr-modules-core, python3-rados and python3-ceph-argparse (.ci/run does)",
);

describeCeph("mgrctl reaches Ceph's Python modules through daemon-server and module-host", () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mgrpc-pyctl-'));
  const keyring = path.join(dir, 'keyring');
  const sim = new SimCluster({ osds: 4, pgs: 32, seed: 5 });
  let cs: ClusterStateHandle;
  let mh: ModuleHostHandle;
  let ds: DaemonServerHandle;

  // Async: the servers run in this process and must keep answering.
  const mgrctl = (...args: string[]) =>
    new Promise<{ code: number; stdout: string; stderr: string }>((resolve) =>
      execFile(
        path.join(ROOT, 'bin/mgrctl'),
        args,
        { cwd: ROOT, env: { ...process.env, MGR_ADDR: ds.address, MGR_KEYRING: keyring }, encoding: 'utf8', timeout: 60000 },
        (err, stdout, stderr) => resolve({ code: err ? Number((err as NodeJS.ErrnoException).code ?? 1) : 0, stdout, stderr }),
      ),
    );

  beforeAll(async () => {
    cs = await startClusterState({ dataDir: path.join(dir, 'cs'), logLevel: 'error', metricsPort: -1 });
    const c = makeClient(ClusterStateServiceDefinition, openChannel(cs.address));
    const json = (v: unknown) => Buffer.from(JSON.stringify(v));
    await c.putMap({ name: 'osd_map', epoch: sim.osdMap().epoch, json: json(sim.osdMap()) });
    await c.putMap({ name: 'fs_map', epoch: sim.fsMap().epoch, json: json(sim.fsMap()) });
    await c.putMap({ name: 'osd_metadata', epoch: 1, json: json(sim.osdMetadata()) });
    await c.putMap({ name: 'mds_metadata', epoch: 1, json: json(sim.mdsMetadata()) });
    mh = await startModuleHost({
      clusterStateAddr: cs.address,
      enabledModules: ['status', 'crash', 'iostat'],
      logLevel: 'error',
      metricsPort: -1,
      python: { modulePath: [], cephMgrDir: DEFAULT_CEPH_MGR_DIR, python: '/usr/bin/python3', prefer: ['status'], only: ['status', 'crash', 'iostat'] },
    });
    ds = await startDaemonServer({
      port: 0,
      metricsPort: 0,
      logLevel: 'error',
      clusterStateAddr: cs.address,
      keyringPath: keyring,
      moduleHostAddr: mh.address,
    });
  }, 60000);

  afterAll(async () => {
    await ds?.stop();
    await mh?.stop();
    await cs?.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('mgrctl fs status and osd status answer through Ceph status module', async () => {
    const fsStatus = await mgrctl('fs', 'status');
    expect(fsStatus.code).toBe(0);
    expect(fsStatus.stdout).toMatch(/cephfs - \d+ clients/);
    expect(fsStatus.stdout).toMatch(/RANK\s+STATE\s+MDS/);
    const asJson = JSON.parse((await mgrctl('fs', 'status', '--format', 'json')).stdout);
    expect(asJson.clients).toEqual([expect.objectContaining({ fs: 'cephfs' })]);
    const osd = await mgrctl('osd', 'status');
    expect(osd.code).toBe(0);
    for (const o of sim.osds) expect(osd.stdout).toMatch(new RegExp(`^\\s*${o.id}\\s.*exists,up`, 'm'));
  }, 60000);

  it('mgrctl iostat and crash ls / crash stat answer through Ceph code', async () => {
    const io = await mgrctl('iostat');
    expect(io.code).toBe(0);
    expect(io.stdout).toMatch(/B\/s/);
    const report = {
      crash_id: '2026-11-26T00:00:00.000000Z_aaaaaaaa-1111-2222-3333-444444444444',
      timestamp: '2026-11-26T00:00:00.000000Z',
      entity_name: 'osd.3',
      process_name: 'ceph-osd',
    };
    // mgrctl has no -i: the report goes in over ModuleHostService, as `ceph crash post -i` would.
    const posted = await makeClient(ModuleHostServiceDefinition, openChannel(mh.address)).handleCommand({
      prefix: 'crash post',
      args: '{"prefix":"crash post"}',
      inbuf: Buffer.from(JSON.stringify(report)),
      entity: 'client.admin',
    });
    expect(posted.result!.retcode).toBe(0);
    const ls = await mgrctl('crash', 'ls');
    expect(ls.code).toBe(0);
    expect(ls.stdout).toContain(report.crash_id);
    expect((await mgrctl('crash', 'stat')).stdout).toContain('1 crashes recorded');
    // Validation by daemon-server against the module's own descriptor.
    const bad = await mgrctl('crash', 'info');
    expect(bad.code).toBe(22);
    expect(bad.stderr).toMatch(/id/);
  }, 60000);
});
