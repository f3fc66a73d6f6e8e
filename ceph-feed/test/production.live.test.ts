// The feed and its monitor client on a cluster set up as a security-minded
// production cluster would be: three monitors and every ms_*_mode = secure
// (as Rook's network.connections.encryption.enabled sets them). The
// monitor sessions are encrypted (a tcpdump capture of the monitors' ports
// shows nothing readable after AUTH_DONE, not even the osd dump we fetched);
// one monitor killed (SIGKILL), restarted, then another killed: the
// subscriptions, the commands and cluster-state's maps carry on without a
// restart.
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { decodeControl } from '../../lib/ceph/control';
import { Tag } from '../../lib/ceph/frames';
import { readCapture } from '../../lib/ceph/testing/pcap';
import { describeCeph, startCephCluster, type CephCluster } from '../../lib/testing/ceph-cluster';
import { itCaptures, startCapture, type Capture } from '../../lib/testing/tcpdump';
import { until } from '../../lib/testing/wait';
import { startTestServer } from '../../services/cluster-state/test/helpers';
import { startCephFeed, type CephFeedHandle } from '../server';

type Json = any;
const FILE = 'production.live.test.ts';
const port = (hostPort: string) => Number(hostPort.slice(hostPort.lastIndexOf(':') + 1));

describeCeph(FILE)('three monitors, every connection secure: the feed and its monitor client', () => {
  jest.setTimeout(400_000);
  let cluster: CephCluster;
  let cs: Awaited<ReturnType<typeof startTestServer>>;
  let feed: CephFeedHandle;
  let capture: Capture | undefined;
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'mgrpc-production-'));
  const osdMap = async () => {
    const r = await cs.client.get({ what: 'osd_map' });
    return { epoch: r.epoch, doc: JSON.parse(Buffer.from(r.json).toString('utf8')) as Json };
  };
  const agree = () =>
    until(
      "cluster-state's osd_map at the cluster's epoch",
      async () => {
        const real = await cluster.ceph(['osd', 'dump']);
        return (await osdMap()).epoch === real.epoch && real;
      },
      90_000,
      300,
    );
  /** The name of the monitor the feed's client talks to now (its label ends with the address: "... at v2:127.0.0.1:30002"). */
  const current = () => {
    const addr = / v2:(\S+)$/.exec(feed.mon.status().monitor ?? '')?.[1];
    return cluster.mons.find((m) => m.v2 === addr)?.name;
  };
  const kill = async (name: string) => {
    const pid = cluster.pid(`mon.${name}`);
    if (!pid) throw new Error(`mon.${name} is not running`);
    process.kill(pid, 'SIGKILL');
    await until(`mon.${name} gone`, () => !cluster.pid(`mon.${name}`), 10_000, 100);
  };
  /** A new osdmap epoch by a flag that changes nothing else, seen by the monitor client and put in cluster-state. */
  const flagFollowed = async (flag: string) => {
    const epochs: number[] = [];
    const onMap = (name: string, epoch: number) => name === 'osdmap' && epochs.push(epoch);
    feed.mon.on('map', onMap);
    try {
      const before = (await agree()).epoch;
      await cluster.ceph(['osd', 'set', flag]);
      await until(`the monitor client's osdmap after osd set ${flag}`, () => epochs.some((e) => e > before), 90_000);
      const m = await until(`${flag} in cluster-state`, async () => {
        const m = await osdMap();
        return m.epoch > before && String(m.doc.flags).split(',').includes(flag) && m;
      });
      expect(m.doc.epoch).toBe(m.epoch);
    } finally {
      feed.mon.off('map', onMap);
      await cluster.ceph(['osd', 'unset', flag]);
    }
    await agree();
  };

  beforeAll(async () => {
    cluster = await startCephCluster({ mons: 3, osds: 1, mds: false, msMode: 'secure' });
    expect(fs.readFileSync(cluster.confPath, 'utf8')).toMatch(/ms_mon_client_mode = secure/);
    cs = await startTestServer();
  }, 400_000);
  afterAll(async () => {
    await capture?.stop();
    await feed?.stop();
    await cs?.close();
    await cluster?.stop();
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  const startFeed = () =>
    startCephFeed({
      cephConf: cluster.confPath,
      keyring: cluster.keyringPath,
      clusterState: cs.handle.address,
      port: 0,
      metricsPort: -1,
      logLevel: 'warn',
      periodMs: 1000,
      backoffMs: 200,
      maxBackoffMs: 2000,
    });

  itCaptures(FILE)('the monitor sessions are encrypted: a capture shows nothing readable after AUTH_DONE', async () => {
    const monPorts = cluster.mons.map((m) => port(m.v2));
    capture = await startCapture(monPorts, path.join(tmp, 'mons.pcap'));
    feed = await startFeed();
    await feed.feed.firstSync;
    expect(feed.mon.status()).toMatchObject({ state: 'connected', mode: 'secure' });
    const dump = await feed.mon.command({ prefix: 'osd dump', format: 'json' });
    expect(dump.r).toBe(0);
    const ours = JSON.parse(dump.data.toString('utf8'));
    // the map may move on between the two reads (the cluster is young): compare the same epoch
    const theirs = await cluster.ceph(['osd', 'dump', String(ours.epoch)]);
    expect({ epoch: ours.epoch, fsid: ours.fsid, pools: ours.pools.length }).toEqual({ epoch: theirs.epoch, fsid: theirs.fsid, pools: theirs.pools.length });
    await capture.stop();
    capture = undefined;

    const convs = readCapture(path.join(tmp, 'mons.pcap')).filter((c) => monPorts.includes(port(c.client.to)));
    expect(convs.length).toBeGreaterThan(0);
    let ourSessions = 0;
    for (const c of convs) {
      if (!c.client.banner) continue; // opened before the capture
      // what can be read ends with AUTH_DONE, which says secure; the rest does not parse as frames
      const tags = c.server.frames.map((f) => f.tag);
      expect(tags).toEqual([Tag.HELLO, Tag.AUTH_REPLY_MORE, Tag.AUTH_DONE].slice(0, tags.length));
      const done = c.server.frames.find((f) => f.tag === Tag.AUTH_DONE);
      if (!done) continue; // a session cut before AUTH_DONE (a hunt given up)
      expect((decodeControl(Tag.AUTH_DONE, done.segments[0]) as { conMode: number }).conMode).toBe(2);
      if (c.server.bytes.length > done.offset + done.wire.length) expect(c.server.error).toMatch(/preamble/);
      expect(c.client.frames.map((f) => f.tag)).toEqual([Tag.HELLO, Tag.AUTH_REQUEST, Tag.AUTH_REQUEST_MORE]);
      const offered = decodeControl(Tag.AUTH_REQUEST, c.client.frames[1].segments[0]) as { preferredModes: number[] };
      expect(offered.preferredModes).toEqual([2]);
      ourSessions++;
    }
    expect(ourSessions).toBeGreaterThan(0);
    // not a byte of what the monitors told us is on the wire in the clear
    const all = Buffer.concat(convs.flatMap((c) => [c.client.bytes, c.server.bytes]));
    expect(all.length).toBeGreaterThan(ours.pools.length * 100);
    for (const needle of [cluster.fsid, '"pool_name"', JSON.stringify(ours.pools[0].pool_name), '"osd dump"', '{"prefix"']) {
      expect(all.includes(Buffer.from(needle))).toBe(false);
    }
  });

  it('puts the maps in cluster-state over the secure sessions, and runs commands', async () => {
    feed ??= await startFeed();
    await feed.feed.firstSync;
    await agree();
    const r = await feed.mon.command({ prefix: 'quorum_status', format: 'json' });
    expect(JSON.parse(r.data.toString('utf8')).quorum_names.sort()).toEqual(['a', 'b', 'c']);
    await flagFollowed('noscrub');
  });

  it('one monitor killed, restarted, then another killed: subscriptions, commands and the maps carry on', async () => {
    feed ??= await startFeed();
    await feed.feed.firstSync;
    const first = await until('a monitor session', current);
    const sessions = feed.mon.status().sessions;
    await kill(first);
    await until('a session with another monitor', () => feed.mon.status().state === 'connected' && current() !== first && current(), 60_000);
    expect(feed.mon.status().sessions).toBeGreaterThan(sessions);
    expect(feed.mon.status().mode).toBe('secure');
    // the two left hold a new election; commands keep being answered meanwhile
    await until(
      `a quorum without mon.${first}`,
      async () => {
        const q = await feed.mon.command({ prefix: 'quorum_status', format: 'json' }, { timeoutMs: 30_000 });
        return !JSON.parse(q.data.toString('utf8')).quorum_names.includes(first);
      },
      90_000,
      1000,
    );
    await flagFollowed('nodeep-scrub');

    await cluster.startDaemon(`mon.${first}`);
    const second = current() as string;
    expect(second).not.toBe(first);
    await kill(second);
    try {
      await until('a session with a third monitor', () => feed.mon.status().state === 'connected' && current() !== second && current(), 60_000);
      await flagFollowed('noscrub');
      const r = await feed.mon.command({ prefix: 'osd dump', format: 'json' }, { timeoutMs: 60_000 });
      expect(r.r).toBe(0);
      // the feed never went long without a session: no health check of its own
      expect(feed.feed.status().checks).toEqual([]);
    } finally {
      await cluster.startDaemon(`mon.${second}`);
    }
    await agree();
  });
});
