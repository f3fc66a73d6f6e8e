// Test set-up shared by the prometheus and restful module tests: a real
// cluster-state fed by the simulator's map feed (maps, pg stats, a service
// map, the monitors' health), daemon perf counters and health metrics
// reported straight to cluster-state, and real module-hosts started on demand
// (active or standby, any manager name). With `allDaemons` the MDS, the
// monitors and the rgw daemon report too, as their sessions would.
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { openChannel, makeClient } from '../../../lib/client';
import { createLogger } from '../../../lib/log';
import { ClusterStateServiceDefinition, DaemonReport } from '../../../lib/gen/ceph/mgr/v1/cluster_state';
import { startClusterState, ClusterStateHandle } from '../../../services/cluster-state/server';
import { startModuleHost, ModuleHostHandle, ModuleHostOptions } from '../../../services/module-host/server';
import { SimCluster } from '../../../sim/cluster';
import { MapFeed } from '../../../sim/feed';
import { mdsPerfSchema, monPerfSchema, osdPerfSchema, PerfValueGenerator, rgwPerfSchema, slotsOf } from '../../../sim/perf';
import { until, freePort } from '../../../lib/testing/wait';

/** osd.op_w of osd.N in the reports below: a value the tests can look for. */
export const opW = (osd: number) => 1000 + 7 * osd;

export interface StackOptions {
  osds?: number;
  /** Monitors (default 1). */
  mons?: number;
  /** Module store keys set before anything starts (e.g. config/mgr/prometheus/server_port). */
  options?: Record<string, string>;
  /** Also report the MDS, the monitors and the rgw daemon (perf counters, health metrics). */
  allDaemons?: boolean;
  /** Put the Pacific fixture's MgrMap (what the standby service publishes) so ceph_mgr_* have input. */
  mgrMap?: boolean;
}

export async function startStack(opts: StackOptions = {}) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mgrpc-module-test-'));
  const cs: ClusterStateHandle = await startClusterState({ port: 0, dataDir: dir, logLevel: 'error', metricsPort: -1 });
  const channel = openChannel(cs.address);
  const csClient = makeClient(ClusterStateServiceDefinition, channel);
  for (const [k, v] of Object.entries(opts.options ?? {})) await csClient.setStore({ key: k, value: v });
  const sim = new SimCluster({ osds: opts.osds ?? 3, mons: opts.mons ?? 1 });
  if (opts.mgrMap) {
    const mgrMap = fs.readFileSync(path.join(__dirname, '../../../../shared/fixtures/ceph-pacific/mgrget-mgr_map.json'));
    await csClient.putMap({ name: 'mgr_map', epoch: JSON.parse(mgrMap.toString()).epoch, json: mgrMap });
  }
  const feed = new MapFeed({
    cluster: sim,
    channel,
    pgStatsDirect: true,
    pgStatsPeriodSec: 1,
    serviceMap: true,
    logger: createLogger({ component: 'sim-feed' }, 'warn'),
  });
  await feed.start(); // maps, including the monitors' mon_status (every mon in quorum)

  // Perf counters: the simulator's OSD schema, every value 0 but osd.op_w.
  const schema = osdPerfSchema();
  const opWIndex = schema.findIndex((c) => c.path === 'osd.op_w');
  const opWSlot = schema.slice(0, opWIndex).reduce((n, c) => n + slotsOf(c.type), 0);
  const slots = schema.reduce((n, c) => n + slotsOf(c.type), 0);
  const report = (osd: number, first: boolean): DaemonReport => {
    const values = new Array(slots).fill(0);
    values[opWSlot] = opW(osd);
    return {
      daemon: `osd.${osd}`,
      opened: first,
      serviceName: '',
      serviceDaemon: false,
      metadata: first ? sim.osdMetadataOf(osd) : {},
      declare: first ? schema : [],
      undeclare: [],
      values,
      stamp: Date.now() / 1000,
      status: {},
      hasStatus: false,
      taskStatus: {},
      healthMetrics: sim.daemonHealthMetrics(`osd.${osd}`),
      closed: false,
    };
  };
  // The other daemons, with the simulator's generated values (as sim/daemons.ts reports them).
  const others: Array<{ daemon: string; metadata: Record<string, string>; gen: PerfValueGenerator; service?: boolean }> = opts.allDaemons
    ? [
        ...Object.entries(sim.mdsMetadata()).map(([n, md]) => ({ daemon: `mds.${n}`, metadata: md, gen: new PerfValueGenerator(mdsPerfSchema(), 11) })),
        ...Object.entries(sim.monMetadata()).map(([n, md]) => ({ daemon: `mon.${n}`, metadata: md, gen: new PerfValueGenerator(monPerfSchema(), 13) })),
        { daemon: 'rgw.gw1', metadata: sim.rgwMetadata(), gen: new PerfValueGenerator(rgwPerfSchema(), 17), service: true },
      ]
    : [];
  const otherReport = (o: (typeof others)[number], first: boolean): DaemonReport => ({
    daemon: o.daemon,
    opened: first,
    serviceName: o.service ? o.daemon.split('.')[0] : '',
    serviceDaemon: !!o.service,
    metadata: first ? o.metadata : {},
    declare: first ? o.gen.schema : [],
    undeclare: [],
    values: [...o.gen.values(Date.now() / 1000 - sim.createdAt, 1)],
    stamp: Date.now() / 1000,
    status: o.service ? { zone: 'default' } : {},
    hasStatus: !!o.service,
    taskStatus: {},
    healthMetrics: sim.daemonHealthMetrics(o.daemon),
    closed: false,
  });
  const osdIds = sim.osds.map((o) => o.id);
  /** One report from every daemon (the first opens the sessions); e.g. after sim.setSlowOps. */
  const reportAll = async (first = false) => {
    const res = await csClient.reportDaemons({ reports: [...osdIds.map((id) => report(id, first)), ...others.map((o) => otherReport(o, first))] });
    if (res.rejected.length) throw new Error(`reports rejected: ${res.rejected.join('; ')}`);
  };
  await reportAll(true);
  // Values keep flowing (rates need two samples), at Ceph's pace scaled down to the tests' 1 s.
  const reporter = setInterval(() => void reportAll().catch(() => undefined), 1000);

  const hosts: ModuleHostHandle[] = [];
  return {
    dir,
    cs,
    csClient,
    sim,
    feed,
    reportAll,
    /** A module-host on this cluster-state; stopped by close(). */
    async startHost(o: Partial<ModuleHostOptions> & { enabledModules: string[] }): Promise<ModuleHostHandle> {
      const mh = await startModuleHost({
        clusterStateAddr: cs.address,
        logLevel: process.env.TEST_MH_LOG ?? 'warn',
        metricsPort: -1,
        commandTimeoutMs: 10000,
        ...o,
      });
      hosts.push(mh);
      return mh;
    },
    async stopHost(mh: ModuleHostHandle): Promise<void> {
      hosts.splice(hosts.indexOf(mh), 1);
      await mh.stop();
    },
    async close() {
      clearInterval(reporter);
      for (const h of hosts.splice(0)) await h.stop().catch(() => undefined);
      await feed.stop();
      channel.close();
      await cs.stop().catch(() => undefined); // a test may have stopped it already
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

export { until, freePort };
