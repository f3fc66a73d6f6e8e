// The simulated monitors: their command endpoint's authentication and
// refusals, and the checks and effects of the writes that daemon-server's
// tests do not reach (pool size 1, deletion switches, pg_num down, reboots,
// per-manager module options), against a real cluster-state.
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { Status } from 'nice-grpc';
import { asCredentials } from '../../lib/auth/proof';
import { openChannel, makeClient } from '../../lib/client';
import { formatKeyring, newKey } from '../../lib/keyring';
import { createLogger } from '../../lib/log';
import type { RunningService } from '../../lib/server';
import { until } from '../../lib/testing/wait';
import { MonitorServiceDefinition } from '../../lib/gen/ceph/mgr/v1/monitor';
import { startClusterState, ClusterStateHandle } from '../../services/cluster-state/server';
import { SimCluster } from '../cluster';
import { MapFeed } from '../feed';
import { SimMonitor, startMonitorEndpoint } from '../monitor';

describe('simulated monitors', () => {
  let dir: string;
  let cs: ClusterStateHandle;
  let sim: SimCluster;
  let feed: MapFeed;
  let mon: SimMonitor;
  let endpoint: RunningService;
  const keys = { admin: newKey(), ro: newKey(), mgr: newKey() };
  const view = async (what: string) => JSON.parse(cs.state.get(what).bytes.toString('utf8'));
  const run = (cmd: Record<string, unknown>) => mon.command(cmd, 'client.admin');

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mgrpc-sim-monitor-'));
    cs = await startClusterState({ port: 0, metricsPort: -1, logLevel: 'error', dataDir: path.join(dir, 'cs') });
    sim = new SimCluster({ osds: 3 });
    feed = new MapFeed({ cluster: sim, address: cs.address, logger: createLogger({ component: 'sim' }, 'warn') });
    await feed.start();
    mon = new SimMonitor({ cluster: sim, feed, osdRebootSec: 0.2 });
    fs.writeFileSync(
      path.join(dir, 'keyring'),
      formatKeyring([
        { entity: 'client.admin', key: keys.admin, caps: { mgr: 'allow *' } },
        { entity: 'client.ro', key: keys.ro, caps: { mgr: 'allow r' } },
        { entity: 'mgr.x', key: keys.mgr, caps: { mgr: 'allow *' } },
      ]),
    );
    endpoint = await startMonitorEndpoint({ monitor: mon, port: 0, keyringPath: path.join(dir, 'keyring'), logLevel: 'error' });
  });

  afterAll(async () => {
    await endpoint?.stop();
    await feed?.stop();
    await cs?.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('the endpoint wants a keyring entity with mgr caps "allow *"; bad requests are INVALID_ARGUMENT', async () => {
    const client = makeClient(MonitorServiceDefinition, openChannel(endpoint.address));
    const as = (entity: string, key: string) => ({ credentials: asCredentials({ entity, key }) });
    const cmd = JSON.stringify({ prefix: 'osd set', key: 'noscrub' });
    await expect(client.command({ cmd, inbuf: Buffer.alloc(0), onBehalfOf: '' })).rejects.toMatchObject({ code: Status.UNAUTHENTICATED });
    await expect(client.command({ cmd, inbuf: Buffer.alloc(0), onBehalfOf: '' }, as('mgr.x', keys.admin))).rejects.toMatchObject({
      code: Status.UNAUTHENTICATED,
    });
    await expect(client.command({ cmd, inbuf: Buffer.alloc(0), onBehalfOf: '' }, as('client.ro', keys.ro))).rejects.toMatchObject({
      code: Status.PERMISSION_DENIED,
      details: expect.stringContaining("needs mgr caps 'allow *'"),
    });
    await expect(client.command({ cmd: '{"prefix":', inbuf: Buffer.alloc(0), onBehalfOf: '' }, as('mgr.x', keys.mgr))).rejects.toMatchObject({
      code: Status.INVALID_ARGUMENT,
    });
    await expect(client.command({ cmd: '["osd set"]', inbuf: Buffer.alloc(0), onBehalfOf: '' }, as('mgr.x', keys.mgr))).rejects.toMatchObject({
      code: Status.INVALID_ARGUMENT,
    });
    const ok = await client.command({ cmd, inbuf: Buffer.alloc(0), onBehalfOf: 'client.admin' }, as('mgr.x', keys.mgr));
    expect(ok.result).toEqual({ retcode: 0, stdout: '', stderr: 'noscrub is set' });
    expect((await view('osd_map')).flags).toMatch(/noscrub/);
    // Audited as the client, relayed by the manager.
    const audit = (await view('cluster_log')).entries.filter((e: any) => e.channel === 'audit').map((e: any) => e.message);
    expect(audit).toEqual(expect.arrayContaining([`from='mgr.x' entity='client.admin' cmd=[${cmd}]: finished`]));
    const unknown = await client.command({ cmd: '{"prefix": "osd crush add"}', inbuf: Buffer.alloc(0), onBehalfOf: '' }, as('mgr.x', keys.mgr));
    expect(unknown.result?.retcode).toBe(-22);
    await run({ prefix: 'osd unset', key: 'noscrub' });
  });

  it("pool size 1 takes mon_allow_pool_size_one and --yes-i-really-mean-it; the monitors' health then warns", async () => {
    await run({ prefix: 'osd pool create', pool: 'single', pg_num: 4 });
    expect(await run({ prefix: 'osd pool set', pool: 'single', var: 'size', val: '1' })).toMatchObject({
      retcode: -1,
      stderr: 'configuring pool size as 1 is disabled by default.',
    });
    expect((await run({ prefix: 'config set', who: 'global', name: 'mon_allow_pool_size_one', value: 'true' })).retcode).toBe(0);
    expect((await run({ prefix: 'osd pool set', pool: 'single', var: 'size', val: '1' })).stderr).toMatch(
      /^WARNING: setting pool size 1 could lead to data loss/,
    );
    expect((await run({ prefix: 'osd pool set', pool: 'single', var: 'size', val: '1', yes_i_really_mean_it: true })).retcode).toBe(0);
    const health = JSON.parse((await view('health')).json);
    expect(health.checks.POOL_NO_REDUNDANCY).toEqual({
      severity: 'HEALTH_WARN',
      summary: { message: '1 pool(s) have no replicas configured', count: 1 },
      detail: [{ message: "pool 'single' has no replicas configured" }],
      muted: false,
    });
    // Its PGs have one OSD each now.
    expect(sim.pgs.filter((p) => p.pool === sim.pool('single')!.id).every((p) => p.acting.length === 1)).toBe(true);
  });

  it('pg_num down removes PGs; pgp_num above pg_num, modelled-out properties and erasure pools are refused', async () => {
    const single = sim.pool('single')!;
    expect((await run({ prefix: 'osd pool set', pool: 'single', var: 'pg_num', val: '2' })).stderr).toBe(`set pool ${single.id} pg_num to 2`);
    expect(sim.pgs.filter((p) => p.pool === single.id).map((p) => p.pgid)).toEqual([`${single.id}.0`, `${single.id}.1`]);
    expect(await run({ prefix: 'osd pool set', pool: 'single', var: 'pgp_num', val: '4' })).toMatchObject({
      retcode: -22,
      stderr: 'specified pgp_num 4 > pg_num 2',
    });
    expect((await run({ prefix: 'osd pool set', pool: 'single', var: 'cache_target_full_ratio', val: '0.8' })).retcode).toBe(-95);
    expect((await run({ prefix: 'osd pool create', pool: 'ec', pool_type: 'erasure' })).retcode).toBe(-95);
    expect(await run({ prefix: 'osd pool set', pool: 'single', var: 'recovery_priority', val: 'high' })).toMatchObject({ retcode: -22 });
    expect((await run({ prefix: 'osd pool set', pool: 'single', var: 'recovery_priority', val: '5' })).retcode).toBe(0);
    expect((await view('osd_map')).pools.find((p: any) => p.pool_name === 'single').options).toEqual({ recovery_priority: 5 });
    expect(await run({ prefix: 'osd pool set-quota', pool: 'single', field: 'max_bytes', val: '10G' })).toMatchObject({
      stderr: 'set-quota max_bytes = 10737418240 for pool single',
    });
    expect((await run({ prefix: 'osd pool set-quota', pool: 'single', field: 'max_objects', val: 'lots' })).retcode).toBe(-22);
  });

  it('pool deletion follows mon_allow_pool_delete and the nodelete flag', async () => {
    const del = { prefix: 'osd pool delete', pool: 'single', pool2: 'single', yes_i_really_really_mean_it: true };
    const id = sim.pool('single')!.id;
    await run({ prefix: 'config set', who: 'mon', name: 'mon_allow_pool_delete', value: 'false' });
    expect((await run(del)).stderr).toBe(
      'pool deletion is disabled; you must first set the mon_allow_pool_delete config option to true before you can destroy a pool',
    );
    await run({ prefix: 'config set', who: 'mon', name: 'mon_allow_pool_delete', value: 'true' });
    await run({ prefix: 'osd pool set', pool: 'single', var: 'nodelete', val: 'true' });
    expect((await run(del)).stderr).toBe('pool deletion is disabled; you must unset nodelete flag for the pool first');
    await run({ prefix: 'osd pool set', pool: 'single', var: 'nodelete', val: 'false' });
    expect((await run(del)).stderr).toBe("pool 'single' removed");
    expect(sim.pgs.some((p) => p.pool === id)).toBe(false);
    expect((await view('osd_map')).pools.map((p: any) => p.pool)).not.toContain(id);
  });

  it('an OSD marked down boots again by itself, as a live OSD does', async () => {
    expect((await run({ prefix: 'osd down', ids: ['1'] })).stderr).toBe('marked down osd.1. ');
    expect((await view('osd_map')).osds[1].up).toBe(0);
    await until('osd.1 up again', async () => (await view('osd_map')).osds[1].up === 1);
    await until('the boot logged', async () => (await view('cluster_log')).entries.some((e: any) => e.message === 'osd.1 boot'));
  });

  it("config set of a module option reaches the managers' module options (per manager with mgr.<id>), and get('config') follows the database", async () => {
    expect((await run({ prefix: 'config set', who: 'mgr.y', name: 'mgr/dashboard/server_port', value: '8081' })).retcode).toBe(0);
    expect(await cs.state.kv.get('config/mgr/dashboard/y/server_port')).toBe('8081');
    expect((await run({ prefix: 'config set', who: 'osd/class:hdd', name: 'osd_max_backfills', value: '2' })).retcode).toBe(0);
    expect((await run({ prefix: 'config set', who: 'osd/rack:r1', name: 'osd_max_backfills', value: '2' })).retcode).toBe(-22);
    const db = (await view('mon_config')).options;
    expect(db).toEqual(
      expect.arrayContaining([{ section: 'osd', name: 'osd_max_backfills', value: '2', level: 'advanced', can_update_at_runtime: true, mask: 'class:hdd' }]),
    );
    expect((await run({ prefix: 'config set', who: 'global', name: 'osd_pool_default_size', value: '2' })).retcode).toBe(0);
    expect((await view('config')).osd_pool_default_size).toBe('2');
    expect((await view('config')).fsid).toBe(sim.fsid);
  });

  it('osd pool application disable needs --yes-i-really-mean-it and is idempotent; osd pool rename is too, as a Pacific monitor', async () => {
    await run({ prefix: 'osd pool create', pool: 'apps', pg_num: 4 });
    expect(await run({ prefix: 'osd pool application enable', pool: 'apps', app: 'rbd' })).toMatchObject({
      retcode: 0,
      stderr: "enabled application 'rbd' on pool 'apps'",
    });
    expect(await run({ prefix: 'osd pool application disable', pool: 'apps', app: 'rbd' })).toMatchObject({
      retcode: -1,
      stderr:
        'Are you SURE? Disabling an application within a pool might result in loss of application functionality; pass --yes-i-really-mean-it to proceed anyway',
    });
    const disable = { prefix: 'osd pool application disable', pool: 'apps', app: 'rbd', yes_i_really_mean_it: true };
    expect(await run(disable)).toMatchObject({ retcode: 0, stderr: "disable application 'rbd' on pool 'apps'" });
    expect((await view('osd_map')).pools.find((p: any) => p.pool_name === 'apps').application_metadata).toEqual({});
    expect(await run(disable)).toMatchObject({ retcode: 0, stderr: "application 'rbd' is not enabled on pool 'apps'" });
    expect(await run({ prefix: 'osd pool rename', srcpool: 'apps', destpool: 'apps2' })).toMatchObject({
      retcode: 0,
      stderr: "pool 'apps' renamed to 'apps2'",
    });
    expect((await view('osd_map')).pools.map((p: any) => p.pool_name)).toEqual(expect.arrayContaining(['apps2']));
    expect(await run({ prefix: 'osd pool rename', srcpool: 'apps', destpool: 'apps2' })).toMatchObject({
      retcode: 0,
      stderr: "pool 'apps' does not exist; pool 'apps2' does -- assuming successful rename",
    });
    expect((await run({ prefix: 'osd pool rename', srcpool: 'apps2', destpool: 'rbd' })).retcode).toBe(-17);
    expect((await run({ prefix: 'osd pool rename', srcpool: 'nosuch', destpool: 'other' })).retcode).toBe(-2);
  });

  it('config rm clears an entry (the configuration page resets an option so), a module option back to its default; none there answers 0', async () => {
    expect((await run({ prefix: 'config set', who: 'osd', name: 'osd_recovery_sleep', value: '0.5' })).retcode).toBe(0);
    const has = async () => ((await view('mon_config')).options as any[]).some((e) => e.section === 'osd' && e.name === 'osd_recovery_sleep');
    expect(await has()).toBe(true);
    expect(await run({ prefix: 'config rm', who: 'osd', name: 'osd_recovery_sleep' })).toMatchObject({ retcode: 0, stderr: '' });
    expect(await has()).toBe(false);
    expect((await run({ prefix: 'config rm', who: 'osd', name: 'osd_recovery_sleep' })).retcode).toBe(0);
    expect((await run({ prefix: 'config rm', who: 'nosuch', name: 'osd_recovery_sleep' })).retcode).toBe(-22);
    expect((await run({ prefix: 'config set', who: 'mgr', name: 'mgr/balancer/sleep_interval', value: '30' })).retcode).toBe(0);
    expect(await cs.state.kv.get('config/mgr/balancer/sleep_interval')).toBe('30');
    expect((await run({ prefix: 'config rm', who: 'mgr', name: 'mgr/balancer/sleep_interval' })).retcode).toBe(0);
    expect(await cs.state.kv.get('config/mgr/balancer/sleep_interval')).toBeUndefined();
  });
});
