// Test set-up shared by the prometheus and restful module tests: a real
// cluster-state fed by the simulator's map feed (maps, pg stats, a service
// map), daemon perf counters reported straight to cluster-state, and real
// module-hosts started on demand (active or standby, any manager name).
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
import { osdPerfSchema, slotsOf } from '../../../sim/perf';
import { until, freePort } from '../../../lib/testing/wait';

/** A port free at the time of asking (for programs that cannot take port 0). */

/** osd.op_w of osd.N in the reports below: a value the tests can look for. */
export const opW = (osd: number) => 1000 + 7 * osd;

export async function startStack(opts: { osds?: number; options?: Record<string, string> } = {}) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mgrpc-module-test-'));
  const cs: ClusterStateHandle = await startClusterState({ port: 0, dataDir: dir, logLevel: 'error', metricsPort: -1 });
  const channel = openChannel(cs.address);
  const csClient = makeClient(ClusterStateServiceDefinition, channel);
  for (const [k, v] of Object.entries(opts.options ?? {})) await csClient.setStore({ key: k, value: v });
  const sim = new SimCluster({ osds: opts.osds ?? 3 });
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
      healthMetrics: [],
      closed: false,
    };
  };
  const osdIds = sim.osds.map((o) => o.id);
  const res = await csClient.reportDaemons({ reports: osdIds.map((id) => report(id, true)) });
  if (res.rejected.length) throw new Error(`reports rejected: ${res.rejected.join('; ')}`);

  const hosts: ModuleHostHandle[] = [];
  return {
    dir,
    cs,
    csClient,
    sim,
    feed,
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
      for (const h of hosts.splice(0)) await h.stop().catch(() => undefined);
      await feed.stop();
      channel.close();
      await cs.stop().catch(() => undefined); // a test may have stopped it already
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

export { until, freePort };
