// The manager's side of the monitors, offline: the beacon mgrpc builds from
// its module list and command table encodes as ceph-mgr's captured beacons
// (shared/ceph-wire/vectors, pcap 01) byte for byte; the fence's timing
// with an injected clock; which caps can act as a manager; where the key of
// mgr.<name> comes from when no monitor is needed. The live side (a real
// cluster's monitors taking our beacons) is test/ceph-managers.live.test.ts.
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { CephConfigError, type CephTarget } from '../../../lib/ceph/target';
import { Tag } from '../../../lib/ceph/frames';
import { decodeMessageFrame, MsgType } from '../../../lib/ceph/message';
import { CommandFlag, decodeMMgrBeacon, decodeMMgrMap, type MMgrBeacon, type MgrMap as CephMgrMap } from '../../../lib/ceph/messages/mgrmap';
import { readVector } from '../../../lib/ceph/testing/pcap';
import { formatKeyring, newKey } from '../../../lib/keyring';
import { createLogger } from '../../../lib/log';
import { moduleInfoFromCeph, moduleInfoToCeph } from '../../../lib/mgrmap-ceph';
import { beaconMessage, cephVersionString, commandDescs, managerMetadata, MGR_FEATURES } from '../ceph/beacon';
import { FENCE_FRACTION, MonitorFence } from '../ceph/fence';
import { capsProblem, managerKey, storedKeyFile } from '../ceph/keys';

const log = createLogger({ test: 'ceph-manager' }, 'error');

function messages(capture: string, type: number) {
  const out = [];
  for (const c of readVector(capture))
    for (const d of [c.client, c.server])
      for (const f of d.frames) {
        if (f.tag !== Tag.MESSAGE) continue;
        const m = decodeMessageFrame(f.segments);
        if (m.type === type) out.push(m);
      }
  return out;
}

/** Ours, from what mgrpc has (module-host's ModuleInfo, the command table, module-host's command list), for a captured beacon's content. */
function ours(b: MMgrBeacon) {
  const native = b.commandDescs.filter((c) => c.flags === 0n).map((c) => ({ cmd: c.cmdstring, desc: c.helpstring, perm: c.perm, service: c.module }));
  const modules = b.commandDescs
    .filter((c) => c.flags !== 0n)
    .map((c) => ({ cmd: c.cmdstring, desc: c.helpstring, perm: c.perm, module: 'mgr', poll: (c.flags & BigInt(CommandFlag.POLL)) !== 0n }));
  return beaconMessage({
    name: b.name,
    gid: b.gid,
    fsid: b.fsid,
    serverAddrs: b.serverAddrs,
    available: b.available,
    modules: b.modules.map(moduleInfoFromCeph),
    commands: commandDescs(native, modules),
    metadata: b.metadata,
    services: b.services,
  });
}

describe("the beacon, against ceph-mgr's", () => {
  const beacons = messages('01-bringup', MsgType.MGR_BEACON);

  it('the first beacon as active (279 commands, 25 modules with their options) is byte for byte the captured one', () => {
    const m = beacons.find((x) => decodeMMgrBeacon(x).commandDescs.length)!;
    const b = decodeMMgrBeacon(m);
    expect(b.commandDescs.length).toBe(279);
    expect(b.mgrFeatures).toBe(MGR_FEATURES);
    const mine = ours(b);
    expect([mine.type, mine.version, mine.compatVersion]).toEqual([m.type, m.version, m.compatVersion]);
    expect(mine.front.equals(m.front)).toBe(true);
  });

  it("a standby's beacon (not available: no address, no commands, no services) is byte for byte the captured one", () => {
    const m = beacons.find((x) => decodeMMgrBeacon(x).name === 'y')!;
    const b = decodeMMgrBeacon(m);
    expect(b.available).toBe(false);
    // what a standby has but does not send
    const mine = beaconMessage({
      ...b,
      serverAddrs: [{ type: 2, nonce: 1, family: 'v4', host: '127.0.0.1', port: 7000 }],
      services: { dashboard: 'http://x/' },
      modules: b.modules.map(moduleInfoFromCeph),
      commands: [],
    });
    expect(mine.front.equals(m.front)).toBe(true);
  });

  it("a module's options survive the trip through mgrpc's shape (type names, runtime flag, bounds, enums, long descriptions)", () => {
    const b = decodeMMgrBeacon(beacons[0]);
    const options = b.modules.flatMap((x) => x.moduleOptions);
    expect(new Set(options.map((o) => o.type)).size).toBeGreaterThanOrEqual(6);
    for (const mod of b.modules) expect(moduleInfoToCeph(moduleInfoFromCeph(mod))).toEqual(mod);
  });

  it('our metadata: the version string Ceph tools split on spaces, and both gRPC addresses', () => {
    const md = managerMetadata({ grpc: { daemonServer: '10.0.0.5:7300', moduleHost: '10.0.0.5:7400' } });
    expect(md.ceph_version).toBe(cephVersionString());
    // `ceph version <x.y.z> (<build>) <release> (<stability>)`: the dashboard's about box splits it on spaces
    expect(md.ceph_version.replace('ceph version ', '').split(' ')).toEqual(['16.2.15', expect.stringMatching(/^\(mgrpc-[\d.]+\)$/), 'pacific', '(stable)']);
    expect(md).toMatchObject({
      ceph_version_short: '16.2.15',
      ceph_release: 'pacific',
      addr: '10.0.0.5',
      mgrpc_daemon_server_addr: '10.0.0.5:7300',
      mgrpc_module_host_addr: '10.0.0.5:7400',
    });
    for (const k of ['hostname', 'os', 'arch', 'kernel_version', 'mem_total_kb']) expect(md[k]).toBeTruthy();
  });
});

describe('the fence: active only while the monitors name us and read our beacons', () => {
  const map = (epoch: number, activeGid: bigint, activeName = 'x', available = false): CephMgrMap => ({
    ...decodeMMgrMap(messages('01-bringup', MsgType.MGR_MAP)[0]),
    epoch,
    activeGid,
    activeName,
    available,
  });
  let now = 1_000_000;
  const fence = new MonitorFence('x', () => now);
  fence.graceMs = 8000;

  it('named active by gid, not by name: a map naming another session of mgr.x is not us', () => {
    fence.setGid(4113n);
    fence.takeMap(map(5, 4200n));
    expect(fence.namedActive()).toBe(false);
    expect(fence.whyNotActive()).toMatch(/standby; the monitors name mgr\.x active \(MgrMap epoch 5\)/);
    fence.takeMap(map(6, 4113n));
    expect(fence.namedActive()).toBe(true);
    fence.takeMap(map(4, 0n)); // older: ignored
    expect(fence.namedActive()).toBe(true);
  });

  it('acts from a confirmed beacon until FENCE_FRACTION of the grace after it was sent', () => {
    expect(fence.isActive()).toBe(false); // no beacon read yet
    expect(fence.whyNotActive()).toMatch(/no beacon read by the monitors for ever/);
    fence.confirmed(now);
    expect(fence.isActive()).toBe(true);
    now += 8000 * FENCE_FRACTION - 1;
    expect(fence.isActive()).toBe(true);
    now += 1;
    expect(fence.isActive()).toBe(false);
    expect(fence.whyNotActive()).toMatch(/has stopped acting as active \(fenced\)/);
    // a late confirmation of an older beacon does not move the fence back
    fence.confirmed(now - 10_000);
    expect(fence.isActive()).toBe(false);
    fence.confirmed(now);
    expect(fence.isActive()).toBe(true);
  });

  it('availability in the map is ours only while named', () => {
    fence.takeMap(map(7, 4113n, 'x', true));
    expect(fence.availableInMap()).toBe(true);
    fence.takeMap(map(8, 4300n, 'y', true));
    expect([fence.availableInMap(), fence.isActive()]).toEqual([false, false]);
    expect(fence.current()).toMatchObject({ epoch: 8, activeName: 'y', activeGid: 4300 });
  });
});

describe('the caps a manager needs', () => {
  it.each([['allow profile mgr'], ['allow *'], ['allow rwx'], ['profile mgr'], ['allow r, allow service mgr rwx'], ['allow service mgr *']])(
    '%s can beacon',
    (caps) => {
      expect(capsProblem('mgr.x', caps)).toBeNull();
    },
  );
  it.each([['allow r'], ['allow rw'], [''], ['allow profile osd'], ['allow service osd rwx']])("'%s' cannot, and the message says what to run", (caps) => {
    expect(capsProblem('mgr.x', caps)).toBe(
      `mgr.x has mon caps '${caps}', which do not let it act as a manager: the monitors ignore the beacons of an entity without mon 'allow profile mgr'. ` +
        "Fix it with: ceph auth caps mgr.x mon 'allow profile mgr' osd 'allow *' mds 'allow *'",
    );
  });
});

describe("mgr.<name>'s key without the monitors", () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ceph-manager-keys-'));
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
  const access = (entries: Array<{ entity: string; key: string }>, entity = 'client.admin'): CephTarget => ({
    monitors: [{ host: '127.0.0.1', port: 1 }],
    monHost: 'v2:127.0.0.1:1',
    entity,
    keyringFile: '/etc/ceph/ceph.keyring',
    keys: new Map(entries.map((e) => [e.entity, { ...e, caps: {} }])),
  });
  const opts = { name: 'x', dataDir: dir, log, timeoutMs: 1000 };

  it('the keyring given holds [mgr.x]: used as it is (the monitors are not asked)', async () => {
    const key = newKey();
    expect(await managerKey({ ...opts, access: access([{ entity: 'mgr.x', key }]) })).toEqual({
      entity: 'mgr.x',
      key,
      source: 'keyring',
      file: '/etc/ceph/ceph.keyring',
    });
  });

  it('no [mgr.x] and no admin entity: the key an earlier start stored, else an error naming both ways out', async () => {
    await expect(managerKey({ ...opts, access: access([{ entity: 'client.other', key: newKey() }]) })).rejects.toThrow(
      new CephConfigError(
        `manager x needs a key for mgr.x: the keyring /etc/ceph/ceph.keyring has none, nor an entity that may make one (--ceph-name client.admin is not in it), ` +
          `and no earlier start stored one in ${storedKeyFile(dir, 'x')}. Give a keyring holding [mgr.x] ` +
          `(ceph auth get-or-create mgr.x mon 'allow profile mgr' osd 'allow *' mds 'allow *'), or one holding an entity with mon 'allow *' such as client.admin (--ceph-name)`,
      ),
    );
    const key = newKey();
    fs.writeFileSync(storedKeyFile(dir, 'x'), formatKeyring([{ entity: 'mgr.x', key, caps: {} }]), { mode: 0o600 });
    expect(await managerKey({ ...opts, access: access([]) })).toMatchObject({ key, source: 'stored' });
  });
});
