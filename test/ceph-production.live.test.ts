// mgrpc as the manager of a cluster set up as a security-minded production
// cluster would be: three monitors and every ms_*_mode = secure (as Rook's
// network.connections.encryption.enabled sets them). A private cluster
// (lib/testing/ceph-cluster.ts), and the local set-up's processes as
// `npm start --ceph-conf` runs them (cli/start.ts: cluster-state,
// ceph-feed, standby with the ceph backend, managers x and y):
//   - `ceph -s` names ours active, `ceph hello` prints Hello World, the
//     OSDs' and the MDS's reports reach cluster-state
//   - every monitor session (the managers', the feed's, the standby
//     service's) and every session of the managers' msgr2 front doors is
//     secure (their logs say so), and a tcpdump capture of the monitors'
//     and the managers' ports shows nothing readable after AUTH_DONE
//   - the monitor the active manager talks to is killed (SIGKILL), then,
//     once it is back, the one it moved to: the manager hunts, keeps
//     beaconing, and the monitors keep it active (same gid, no failover to
//     the standby after their beacon grace); `ceph hello` answers; no
//     process of ours restarts.
//   - kill -9 of the active's module-host: the manager resigns (`mgr fail`
//     of its own gid) so the standby runs the modules, and stands by
//   - kill -9 of the active's daemon-server: the standby service sees its
//     MgrMap watch end and its port refuse, and `mgr fail`s its gid at
//     once (services/standby/presence.ts), not after the monitors' grace.
// The beacon grace is lowered to 15 s so the test waits less; it stays well
// above mon_tick_interval + mgr_tick_period (5 + 2 s).
import { keyringCredentials } from '../lib/auth/keys';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { decodeControl } from '../lib/ceph/control';
import { Tag } from '../lib/ceph/frames';
import { readCapture } from '../lib/ceph/testing/pcap';
import { makeClient, openChannel } from '../lib/client';
import { ClusterStateServiceDefinition, DaemonQueryKind } from '../lib/gen/ceph/mgr/v1/cluster_state';
import { describeCeph, startCephCluster, type CephCluster } from '../lib/testing/ceph-cluster';
import { itCaptures, startCapture, tcpdumpMissing, type Capture } from '../lib/testing/tcpdump';
import { freePort } from '../lib/testing/wait';
import { cephProcesses, ProcessSet, randomPortOffset, until } from './launcher';

const FILE = 'test/ceph-production.live.test.ts';
const OFFSET = randomPortOffset();
const port = (p: number) => p + OFFSET;
const GRACE_S = 15;
const MANAGERS = ['x', 'y'];
/** The handshake's frames: all a capture of a secure session may show in the clear. */
const HANDSHAKE = new Set<number>([Tag.HELLO, Tag.AUTH_REQUEST, Tag.AUTH_BAD_METHOD, Tag.AUTH_REPLY_MORE, Tag.AUTH_REQUEST_MORE, Tag.AUTH_DONE]);
const portOf = (hostPort: string) => Number(hostPort.slice(hostPort.lastIndexOf(':') + 1));

interface MgrDump {
  epoch: number;
  active_name: string;
  active_gid: number;
  available: boolean;
  standbys: Array<{ name: string; gid: number }>;
}
type LogLine = Record<string, unknown> & { msg: string };

describeCeph(__filename)('mgrpc as the manager of an all-secure, three-monitor cluster', () => {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'mgrpc-ceph-production-'));
  let cluster: CephCluster;
  let procs: ProcessSet;
  let capture: Capture | undefined;
  /** The managers' msgr2 front doors' ports (x, y). */
  const msgr2Ports: number[] = [];
  /** The pids of our processes once started: none may change. */
  let pids: Record<string, number | undefined> = {};

  const logs = (name: string): LogLine[] =>
    (procs.output.get(name) ?? []).flatMap((l) => {
      try {
        const j = JSON.parse(l) as LogLine;
        return typeof j.msg === 'string' ? [j] : [];
      } catch {
        return [];
      }
    });
  const dump = () => cluster.ceph<MgrDump>(['mgr', 'dump'], { timeoutMs: 20_000 });
  const osds = () => cluster.daemons.filter((d) => d.startsWith('osd.'));
  /** The monitor a process's monitor client talks to now: its last 'monitor session open' ("monitor at v2:127.0.0.1:30001"). */
  const monitorOf = (name: string) => {
    const opened = logs(name).filter((l) => l.msg === 'monitor session open');
    const last = opened[opened.length - 1];
    const addr = / v2:(\S+)$/.exec(String(last?.monitor ?? ''))?.[1];
    return { sessions: opened.length, mon: cluster.mons.find((m) => m.v2 === addr)?.name, mode: last?.mode };
  };
  const hello = () =>
    until(
      '`ceph hello` to answer',
      async () => {
        const r = await cluster.run(['hello'], { timeoutMs: 30_000 });
        return r.code === 0 && r;
      },
      120_000,
    );
  const metric = async (i: number, name: string) => {
    const text = await (await fetch(`http://127.0.0.1:${port(9300 + i)}/metrics`)).text();
    const line = text.split('\n').find((l) => l.startsWith(name + ' '));
    return line ? Number(line.slice(line.lastIndexOf(' ') + 1)) : 0;
  };
  const query = async (svcType: string, svcId: string) => {
    const channel = openChannel(`127.0.0.1:${port(7100)}`);
    try {
      const r = await makeClient(ClusterStateServiceDefinition, channel, {
        credentials: keyringCredentials(path.join(dataDir, 'keyring'), 'client.admin'),
      }).queryDaemons({
        kind: DaemonQueryKind.DAEMON_QUERY_KIND_PERF_SCHEMA,
        svcType,
        svcId,
        path: '',
        services: [],
      });
      return JSON.parse(Buffer.from(r.json).toString('utf8')) as Record<string, Record<string, unknown>>;
    } finally {
      channel.close();
    }
  };
  const tails = () => ['standby', ...MANAGERS.map((n) => `daemon-server-${n}`)].map((n) => `${n}:\n${procs.tail(n, 15)}`).join('\n');

  beforeAll(async () => {
    cluster = await startCephCluster({ mons: 3, osds: 2, mds: true, msMode: 'secure', conf: { mon: { mon_mgr_beacon_grace: GRACE_S } } });
    expect(fs.readFileSync(cluster.confPath, 'utf8')).toMatch(/ms_service_mode = secure/);
    for (const _ of MANAGERS) msgr2Ports.push(await freePort());
    // from before the first session: every handshake is in the capture
    if (!tcpdumpMissing()) capture = await startCapture([...cluster.mons.map((m) => portOf(m.v2)), ...msgr2Ports], path.join(dataDir, 'production.pcap'));
    const specs = cephProcesses(dataDir, OFFSET, cluster, MANAGERS);
    MANAGERS.forEach((n, i) => {
      const ds = specs.find((s) => s.name === `daemon-server-${n}`)!;
      ds.env.MGR_MSGR2_PORT = String(msgr2Ports[i]);
      ds.env.MGR_STATS_PERIOD = '1';
    });
    // mgrpc's own modules only: Ceph's Python ones are not what this tests, and slow to start on a busy machine.
    procs = new ProcessSet(specs, { MGR_PYTHON_MODULES: 'none' });
    await procs.startAll(180_000);
    pids = Object.fromEntries([...procs.procs].map(([n, c]) => [n, c.pid]));
    await until(
      'the monitors to name one of ours active and available, the other standing by',
      async () => {
        const d = await dump();
        return d.available && MANAGERS.includes(d.active_name) && d.standbys.length === 1 && d;
      },
      180_000,
    ).catch((e: Error) => Promise.reject(new Error(`${e.message}\n${tails()}`)));
    await cluster.ceph(['mgr', 'module', 'enable', 'hello']);
  }, 600_000);

  afterAll(async () => {
    await capture?.stop();
    await procs?.stopAll();
    await cluster?.stop();
    fs.rmSync(dataDir, { recursive: true, force: true });
  }, 120_000);

  it("`ceph -s` names mgrpc's manager active, `ceph hello` answers, and the OSDs' and the MDS's reports reach cluster-state", async () => {
    const d = await dump();
    const s = await cluster.run(['-s']);
    expect(s.stdout).toMatch(new RegExp(`\\n {4}mgr: ${d.active_name}\\(active, since [^)]+\\), standbys: ${d.standbys[0].name}\\n`));
    expect(s.stdout).toMatch(/\n {4}mon: 3 daemons, quorum a,b,c/);
    const meta = await cluster.ceph<{ ceph_version: string }>(['mgr', 'metadata', d.active_name]);
    expect(meta.ceph_version).toMatch(/\(mgrpc-[^)]+\) pacific/);
    expect(`${(await hello()).stdout}`.trim()).toBe('Hello World');
    const active = MANAGERS.indexOf(d.active_name);
    await until(
      'every OSD, the MDS and the monitor in session with the active',
      async () => (await metric(active, 'mgr_daemon_server_msgr2_sessions')) >= osds().length + 2,
      120_000,
    );
    for (const o of osds()) {
      const schema = await until(`${o}'s counters in cluster-state`, async () => (await query('osd', o.slice(4)))[o], 90_000);
      expect(schema['osd.op_w']).toBeDefined();
    }
    const mds = await until("mds.a's counters in cluster-state", async () => (await query('mds', 'a'))['mds.a'], 90_000);
    expect(Object.keys(mds).length).toBeGreaterThan(0);
  }, 400_000);

  it("every monitor session and every session of the managers' front doors is secure", async () => {
    for (const name of ['ceph-feed', 'standby', ...MANAGERS.map((n) => `daemon-server-${n}`)]) {
      const opened = logs(name).filter((l) => l.msg === 'monitor session open');
      expect({ name, sessions: opened.length > 0 }).toEqual({ name, sessions: true });
      for (const l of opened) expect({ name, monitor: l.monitor, mode: l.mode }).toEqual({ name, monitor: l.monitor, mode: 'secure' });
    }
    const d = await dump();
    const sessions = logs(`daemon-server-${d.active_name}`).filter((l) => l.msg === 'session opened');
    const daemons = new Set(sessions.map((l) => String(l.daemon)));
    for (const want of [...osds(), 'mds.a']) expect(daemons).toContain(want);
    for (const l of MANAGERS.flatMap((n) => logs(`daemon-server-${n}`).filter((x) => x.msg === 'session opened')))
      expect({ daemon: l.daemon, mode: l.mode }).toEqual({ daemon: l.daemon, mode: 'secure' });
  });

  itCaptures(FILE)("a capture of the monitors' and the managers' ports shows nothing readable after AUTH_DONE", async () => {
    await capture!.stop();
    const file = capture!.file;
    capture = undefined;
    const monPorts = cluster.mons.map((m) => portOf(m.v2));
    const convs = readCapture(file);
    const secured = { mon: 0, manager: 0 };
    for (const c of convs) {
      if (!c.client.banner) continue; // opened before the capture (none should be: it began first)
      const what = `${c.client.from} -> ${c.client.to}`;
      for (const side of [c.client, c.server]) {
        const plain = side.frames.filter((f) => !HANDSHAKE.has(f.tag)).map((f) => f.tag);
        expect({ what, plain }).toEqual({ what, plain: [] });
      }
      const done = c.server.frames.find((f) => f.tag === Tag.AUTH_DONE);
      if (!done) continue; // cut before AUTH_DONE (a hunt given up, a refused peer)
      expect({ what, conMode: (decodeControl(Tag.AUTH_DONE, done.segments[0]) as { conMode: number }).conMode }).toEqual({ what, conMode: 2 });
      // what follows AUTH_DONE does not parse as frames
      if (c.server.bytes.length > done.offset + done.wire.length) expect(c.server.error).toMatch(/preamble/);
      const to = portOf(c.client.to);
      if (monPorts.includes(to)) secured.mon++;
      if (msgr2Ports.includes(to)) secured.manager++;
    }
    // the OSDs, the MDS, a monitor and the CLI with the manager; everyone with the monitors
    expect(secured.manager).toBeGreaterThanOrEqual(osds().length + 2);
    expect(secured.mon).toBeGreaterThan(osds().length + 4);
    // not a byte of what went over these sessions is on the wire in the clear
    const all = Buffer.concat(convs.flatMap((c) => [c.client.bytes, c.server.bytes]));
    expect(all.length).toBeGreaterThan(100_000);
    for (const needle of ['Hello World', cluster.fsid, '"prefix"', 'op_w_latency', 'mgrpc-', 'cephfs']) {
      expect({ needle, found: all.includes(Buffer.from(needle)) }).toEqual({ needle, found: false });
    }
  });

  it('the monitor the active manager talks to is killed, then the next one: it stays active with the same gid, beaconing, with no restart', async () => {
    const before = await dump();
    const ds = `daemon-server-${before.active_name}`;
    /** Every MgrMap the monitors give while monitors die and return: the active's gid must never change. */
    const seen: MgrDump[] = [];
    const watch = async () => {
      const d = await dump().catch(() => undefined);
      if (d) seen.push(d);
    };
    const killCurrent = async (round: string) => {
      const { mon, sessions } = monitorOf(ds);
      if (!mon) throw new Error(`${ds} has no monitor session:\n${procs.tail(ds)}`);
      const pid = cluster.pid(`mon.${mon}`);
      if (!pid) throw new Error(`mon.${mon} is not running`);
      const killedAt = Date.now();
      process.kill(pid, 'SIGKILL');
      await until(`mon.${mon} gone`, () => !cluster.pid(`mon.${mon}`), 10_000);
      // the manager hunts: a new secure session with another monitor, under the same gid
      const now = await until(
        `${round}: ${ds} in session with another monitor than mon.${mon}`,
        () => {
          const m = monitorOf(ds);
          return m.sessions > sessions && m.mon !== mon && m;
        },
        90_000,
      ).catch((e: Error) => Promise.reject(new Error(`${e.message}\n${procs.tail(ds)}`)));
      expect(now.mode).toBe('secure');
      expect(
        String(
          logs(ds)
            .filter((l) => l.msg === 'monitor session open')
            .pop()?.globalId,
        ),
      ).toBe(String(before.active_gid));
      expect((await hello()).stdout.trim()).toBe('Hello World');
      // beyond the monitors' grace (and a tick of theirs): a lapse of beacons would have failed it by now
      while (Date.now() - killedAt < (2 * GRACE_S + 5) * 1000) {
        await watch();
        await new Promise((r) => setTimeout(r, 2000));
      }
      await watch();
      return mon;
    };
    const first = await killCurrent('first kill');
    await cluster.startDaemon(`mon.${first}`);
    const second = await killCurrent('second kill');
    expect(second).not.toBe(first);
    await cluster.startDaemon(`mon.${second}`);

    expect(seen.length).toBeGreaterThan(4);
    for (const d of seen)
      expect({ active: d.active_name, gid: d.active_gid, available: d.available }).toEqual({
        active: before.active_name,
        gid: before.active_gid,
        available: true,
      });
    const after = await dump();
    expect(after.active_gid).toBe(before.active_gid);
    expect(after.standbys.map((s) => s.gid)).toEqual(before.standbys.map((s) => s.gid));
    // nothing of ours restarted
    for (const [name, child] of procs.procs)
      expect({ name, pid: child.pid, running: child.exitCode === null }).toEqual({ name, pid: pids[name], running: true });
    expect((await hello()).stdout.trim()).toBe('Hello World');
  }, 600_000);

  /** Until the monitors name `name` active and available. */
  const activeIs = (name: string) =>
    until(
      `the monitors to name mgr.${name} active and available`,
      async () => {
        const d = await dump();
        return d.active_name === name && d.available && d;
      },
      120_000,
    ).catch((e: Error) => Promise.reject(new Error(`${e.message}\n${tails()}`)));

  it("kill -9 of the active's module-host: the manager resigns (`mgr fail` of its gid) for the standby to run the modules, and stands by", async () => {
    const before = await dump();
    const [a, b] = [before.active_name, before.standbys[0].name];
    await procs.kill(`module-host-${a}`, 'SIGKILL');
    await activeIs(b);
    // by its own hand, not the monitors' grace: it said so, and it is still in their map, a standby under the same gid
    expect(logs(`daemon-server-${a}`).filter((l) => l.msg === 'resigned as active manager: module-host is not up')).toEqual([
      expect.objectContaining({ gid: String(before.active_gid), rs: expect.any(String) }),
    ]);
    await until(`mgr.${a} back in the map as a standby`, async () => (await dump()).standbys.some((x) => x.gid === before.active_gid), 60_000);
    expect((await hello()).stdout.trim()).toBe('Hello World');
    // its module-host back: it stays a standby
    const ups = logs(`daemon-server-${a}`).filter((l) => l.msg === 'module-host is up').length;
    procs.start(`module-host-${a}`);
    await until(`module-host-${a} up again`, () => logs(`daemon-server-${a}`).filter((l) => l.msg === 'module-host is up').length > ups, 120_000);
    expect((await dump()).active_name).toBe(b);
  }, 400_000);

  it("kill -9 of the active's daemon-server: the standby service sees its watch end and its port refuse, and `mgr fail`s it at once", async () => {
    const before = await dump();
    const [a, b] = [before.active_name, before.standbys[0].name];
    await procs.kill(`daemon-server-${a}`, 'SIGKILL');
    await activeIs(b);
    expect(logs('standby').filter((l) => l.msg === `mgr.${a} (active) is gone; taking it out of the map now`)).toEqual([
      expect.objectContaining({ name: a, gid: before.active_gid }),
    ]);
    // and the monitors took it: `mgr fail <gid>` answered 0 (not their grace running out)
    expect(logs('standby').filter((l) => l.msg === 'monitor command' && l.cmd === 'mgr fail')).toEqual([
      expect.objectContaining({ args: { prefix: 'mgr fail', who: String(before.active_gid) }, r: 0 }),
    ]);
    expect((await hello()).stdout.trim()).toBe('Hello World');
    // started again: a standby under a new gid
    procs.start(`daemon-server-${a}`);
    await until(`mgr.${a} back as a standby`, async () => (await dump()).standbys.some((x) => x.name === a && x.gid !== before.active_gid), 120_000);
    expect((await dump()).active_name).toBe(b);
  }, 400_000);
});
