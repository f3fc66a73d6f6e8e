// kill -9 of cluster-state under the local set-up (every service its own
// process, `npm start`'s process list, the simulator's OSDs reporting every
// second), then cluster-state started again as a supervisor would (issue 21,
// finding 1: the new cluster-state knew no counter schema and refused every
// report until the daemons happened to reconnect). daemon-server sees the
// new run and declares every session again, so every OSD's counters (its
// perf schema and values newer than the restart) are back, with the daemons'
// sessions left as they were.
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { localProcesses, waitServing } from '../cli/start';
import { keyringCredentials } from '../lib/auth/keys';
import { makeClient, openChannel } from '../lib/client';
import { ClusterStateServiceDefinition, DaemonQueryKind } from '../lib/gen/ceph/mgr/v1/cluster_state';
import { ProcessSet, randomPortOffset, until } from './launcher';

const OSDS = 4;

describe('kill -9 of cluster-state under a running system', () => {
  const OFFSET = randomPortOffset();
  const csAddr = `127.0.0.1:${7100 + OFFSET}`;
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'mgrpc-cs-kill-'));
  const specs = localProcesses({ dataDir, host: '127.0.0.1', osds: OSDS, sim: true, backend: 'embedded', etcd: '', portOffset: OFFSET });
  // Without Ceph's Python modules: this is about ingest, not modules.
  const procs = new ProcessSet(specs, { MGR_STATS_PERIOD: '1', MGR_PYTHON_MODULES: 'none' });
  const csChannel = openChannel(csAddr);
  // the keyring npm start's process list makes on first start (read at each call, so it may come later)
  const cs = makeClient(ClusterStateServiceDefinition, csChannel, { credentials: keyringCredentials(path.join(dataDir, 'keyring'), 'client.admin') });

  afterAll(async () => {
    await procs.stopAll();
    csChannel.close();
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  const query = async (kind: DaemonQueryKind, osd: number, p = '') =>
    JSON.parse(Buffer.from((await cs.queryDaemons({ kind, svcType: 'osd', svcId: String(osd), path: p, hostname: '', services: [] })).json).toString('utf8'));
  /** The OSDs without a perf schema, or without an op_w sample newer than `since` (seconds). */
  const missing = async (since: number) => {
    const out: string[] = [];
    for (let i = 0; i < OSDS; i++) {
      const schema = (await query(DaemonQueryKind.DAEMON_QUERY_KIND_PERF_SCHEMA, i))[`osd.${i}`] ?? {};
      const samples: Array<[number, number]> = (await query(DaemonQueryKind.DAEMON_QUERY_KIND_COUNTER, i, 'osd.op_w'))['osd.op_w'] ?? [];
      if (!Object.keys(schema).length || !samples.some(([t]) => t > since)) out.push(`osd.${i}`);
    }
    return out;
  };

  it("every OSD's counters come back after cluster-state's restart, without the daemons reconnecting", async () => {
    await procs.startAll();
    await until('every OSD reporting', async () => (await missing(0)).length === 0, 90000);
    const dsLines = () => [...(procs.output.get('daemon-server-x') ?? []), ...(procs.output.get('daemon-server-y') ?? [])];
    const opens = () => dsLines().filter((l) => l.includes('"session opened"')).length;
    const opensBefore = opens();
    expect(opensBefore).toBeGreaterThanOrEqual(OSDS);

    expect(await procs.kill('cluster-state', 'SIGKILL')).toBeNull();
    const restartedAt = Date.now() / 1000;
    const child = procs.start('cluster-state');
    await waitServing(csAddr, 60000, child);

    let left: string[] = [];
    await until(
      "every OSD's counters in the restarted cluster-state",
      async () => {
        left = await missing(restartedAt).catch(() => ['(cluster-state not answering)']);
        return left.length === 0;
      },
      60000,
    ).catch(() => undefined);
    expect(left).toEqual([]);
    // the active daemon-server declared its sessions again; the simulator's daemons did not reopen them
    expect(dsLines().some((l) => l.includes('cluster-state restarted (a new run): declaring every open session again'))).toBe(true);
    expect(opens()).toBe(opensBefore);
  }, 300000);
});
