// The monitors' MgrMap as mgrpc's clients follow it (lib/mgrmap-ceph.ts),
// from a MgrMap a real Pacific monitor sent (shared/ceph-wire/vectors,
// pcap 01): the same epoch, active and standbys, the gRPC addresses from
// each manager's metadata, modules without the always-on ones.
import { Tag } from '../ceph/frames';
import { decodeMessageFrame, MsgType } from '../ceph/message';
import { decodeMMgrMap, type MgrMap as CephMgrMap } from '../ceph/messages/mgrmap';
import { readVector } from '../ceph/testing/pcap';
import { utimeToMs } from '../ceph/types';
import { GRPC_ADDR_METADATA, grpcAddrsOf, mgrMapFromCeph, moduleInfoFromCeph } from '../mgrmap-ceph';

function newestMgrMap(): CephMgrMap {
  let newest: CephMgrMap | undefined;
  for (const c of readVector('01-bringup'))
    for (const d of [c.client, c.server])
      for (const f of d.frames) {
        if (f.tag !== Tag.MESSAGE) continue;
        const m = decodeMessageFrame(f.segments);
        if (m.type !== MsgType.MGR_MAP) continue;
        const map = decodeMMgrMap(m);
        if (!newest || map.epoch > newest.epoch) newest = map;
      }
  return newest!;
}

describe("the monitors' MgrMap in mgrpc's shape", () => {
  const ceph = newestMgrMap();
  const md = new Map<string, Record<string, string>>([
    ['x', { hostname: 'a', [GRPC_ADDR_METADATA.daemonServer]: '10.0.0.1:7300', [GRPC_ADDR_METADATA.moduleHost]: '10.0.0.1:7400' }],
    ['y', { hostname: 'b', [GRPC_ADDR_METADATA.daemonServer]: '10.0.0.2:7301' }],
  ]);
  const m = mgrMapFromCeph(ceph, md);

  it('keeps the epoch, who is active (name, gid, available, since when) and the standbys by gid', () => {
    expect(ceph).toMatchObject({ activeName: 'x', available: true });
    expect(m).toMatchObject({
      epoch: ceph.epoch,
      activeName: 'x',
      activeGid: Number(ceph.activeGid),
      available: true,
      activeChange: utimeToMs(ceph.activeChange) / 1000,
    });
    expect(m.standbys.map((s) => [s.name, s.gid, s.available])).toEqual(ceph.standbys.map((s) => [s.name, Number(s.gid), true]));
  });

  it("addresses are each manager's gRPC ones from its metadata; a manager without them (a ceph-mgr daemon) has none", () => {
    expect(m.activeAddrs).toEqual({ daemonServer: '10.0.0.1:7300', moduleHost: '10.0.0.1:7400' });
    expect(m.standbys[0].addrs).toEqual({ daemonServer: '10.0.0.2:7301', moduleHost: '' });
    expect(mgrMapFromCeph(ceph, new Map()).activeAddrs).toEqual({ daemonServer: '', moduleHost: '' });
    expect(grpcAddrsOf(undefined)).toEqual({ daemonServer: '', moduleHost: '' });
  });

  it("modules: the enabled ones, Pacific's always-on ones apart, every available module with its options", () => {
    const alwaysOn = ceph.alwaysOnModules.get(16)!;
    expect(m.alwaysOnModules).toEqual([...alwaysOn].sort());
    expect(m.alwaysOnModules).toEqual(expect.arrayContaining(['balancer', 'crash', 'pg_autoscaler', 'status']));
    expect(m.modules).toEqual(ceph.modules.filter((x) => !alwaysOn.includes(x)));
    expect(m.availableModules).toEqual(ceph.availableModules.map(moduleInfoFromCeph));
    expect(m.availableModules.find((x) => x.name === 'alerts')!.moduleOptions.find((o) => o.name === 'interval')).toMatchObject({
      type: 'secs',
      defaultValue: '60',
      hasDefault: true,
    });
    expect(m.services).toEqual(ceph.services);
    expect(m.lastFailureEpoch).toBe(ceph.lastFailureOsdEpoch);
  });
});
