// Test stack for module tests: a real cluster-state fed by the simulator's
// maps, a module-host running the modules under test, a daemon-server in
// front of it (commands are validated against the modules' descriptors, as
// for `mgrctl`), and the simulator's fake daemons reporting counters and pg
// stats through daemon-server. Everything on 127.0.0.1 with port 0.
// Shared by the influx and zabbix module tests.
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { asCredentials } from '../../../lib/auth/proof';
import { openChannel, makeClient } from '../../../lib/client';
import { ClusterStateServiceDefinition } from '../../../lib/gen/ceph/mgr/v1/cluster_state';
import { DaemonServerServiceDefinition } from '../../../lib/gen/ceph/mgr/v1/daemon_server';
import { startClusterState } from '../../../services/cluster-state/server';
import { startModuleHost } from '../../../services/module-host/server';
import { startDaemonServer } from '../../../services/daemon-server/server';
import { parseKeyring } from '../../../lib/keyring';
import { createLogger } from '../../../lib/log';
import { ClusterOptions, SimCluster } from '../../../sim/cluster';
import { MapFeed } from '../../../sim/feed';
import { FakeDaemons } from '../../../sim/daemons';
import { until } from '../../../lib/testing/wait';

export interface StackOptions {
  modules: string[];
  osds?: number;
  /** More simulator options (pools, pgs, ...). */
  cluster?: ClusterOptions;
  /** Called with the simulated cluster before its maps are pushed (extra pools, ...). */
  prepare?: (sim: SimCluster) => void;
}

export type Stack = Awaited<ReturnType<typeof startModuleStack>>;

export async function startModuleStack(opts: StackOptions) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `mgrpc-${opts.modules.join('-')}-`));
  const sim = new SimCluster({ osds: opts.osds ?? 3, ...opts.cluster });
  opts.prepare?.(sim);
  const cs = await startClusterState({ port: 0, metricsPort: -1, logLevel: 'error', dataDir: path.join(dir, 'cs') });
  const quiet = createLogger({ component: 'test-sim' }, 'error');
  const feed = new MapFeed({ cluster: sim, address: cs.address, serviceMap: true, logger: quiet });
  await feed.start();
  const mh = await startModuleHost({
    clusterStateAddr: cs.address,
    enabledModules: opts.modules,
    logLevel: process.env.TEST_LOG_LEVEL ?? 'error',
    metricsPort: -1,
  });
  const keyringPath = path.join(dir, 'keyring');
  const ds = await startDaemonServer({
    port: 0,
    metricsPort: -1,
    logLevel: 'error',
    clusterStateAddr: cs.address,
    moduleHostAddr: mh.address,
    keyringPath,
    statsPeriod: 1,
    flushIntervalMs: 50,
  });
  const key = parseKeyring(fs.readFileSync(keyringPath, 'utf8')).get('client.admin')!.key;
  const daemons = new FakeDaemons({ cluster: sim, address: ds.address, auth: { entity: 'client.admin', key }, logger: quiet }).start();

  const dsChannel = openChannel(ds.address);
  const dsClient = makeClient(DaemonServerServiceDefinition, dsChannel);
  const csChannel = openChannel(cs.address);
  const csClient = makeClient(ClusterStateServiceDefinition, csChannel);
  const admin = { credentials: asCredentials({ entity: 'client.admin', key }) };

  const stack = {
    dir,
    sim,
    feed,
    cs,
    mh,
    ds,
    daemons,
    csClient,
    /** A command as `mgrctl` sends it: through daemon-server, as client.admin. */
    async command(prefix: string, args: Record<string, unknown> = {}) {
      const r = await dsClient.command({ prefix, args: JSON.stringify({ prefix, ...args }), inbuf: Buffer.alloc(0) }, admin);
      return r.result!;
    },
    /** cluster-state's get(what), parsed. */
    async get(what: string): Promise<any> {
      return JSON.parse(Buffer.from((await csClient.get({ what })).json).toString());
    },
    /** The merged health document (`ceph health detail` JSON). */
    async health(): Promise<{
      status: string;
      checks: Record<string, { severity: string; summary: { message: string }; detail: Array<{ message: string }> }>;
    }> {
      return JSON.parse((await stack.get('health')).json);
    },
    async close() {
      await daemons.stop();
      await feed.stop();
      dsChannel.close();
      csChannel.close();
      await ds.stop();
      await mh.stop();
      await cs.stop();
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };

  // Ready when the OSDs' pg stats and counters have arrived.
  await until('pg stats and perf counters from the fake daemons', async () => {
    const df = await stack.get('df');
    const osdStats = await stack.get('osd_stats');
    return df.pools?.length && df.stats?.total_bytes > 0 && (osdStats.osd_stats ?? []).length === sim.osdCount && df;
  });
  return stack;
}

export { until };
