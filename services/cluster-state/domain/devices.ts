// get('devices'): the storage devices the daemons report in their metadata,
// as Ceph's DaemonStateIndex keeps them (DaemonState::set_metadata,
// DeviceState::dump): each device id with where it is attached (host,
// device name, by-path path) and the daemons using it. `device ls` and the
// dashboard's OSD pages read this.

export interface DeviceJson {
  devid: string;
  location: Array<{ host: string; dev: string; path: string }>;
  daemons: string[];
}

/** "sda=ID1,sdb=ID2" (separators ",; ") as [devname, value] pairs, blank values skipped. */
function pairs(s: string | undefined): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  for (const item of (s ?? '').split(/[,; ]+/)) {
    const eq = item.indexOf('=');
    if (eq <= 0) continue;
    const v = item.slice(eq + 1);
    if (v) out.push([item.slice(0, eq), v]);
  }
  return out;
}

/** DaemonKey's order: type, then name as a string. */
function byDaemonKey(a: string, b: string): number {
  const [ta, ...ia] = a.split('.');
  const [tb, ...ib] = b.split('.');
  return ta < tb ? -1 : ta > tb ? 1 : ia.join('.') < ib.join('.') ? -1 : ia.join('.') > ib.join('.') ? 1 : 0;
}

export function deviceList(daemons: Iterable<{ name: string; metadata: Record<string, string> }>): { devices: DeviceJson[] } {
  const byId = new Map<string, { location: Map<string, { host: string; dev: string; path: string }>; daemons: Set<string> }>();
  for (const d of daemons) {
    const ids = pairs(d.metadata.device_ids);
    if (!ids.length) continue;
    const paths = new Map(pairs(d.metadata.device_paths));
    const host = d.metadata.hostname ?? '';
    for (const [dev, devid] of ids) {
      let e = byId.get(devid);
      if (!e) byId.set(devid, (e = { location: new Map(), daemons: new Set() }));
      e.daemons.add(d.name);
      const path = paths.get(dev) ?? '';
      e.location.set(`${host}\0${dev}\0${path}`, { host, dev, path });
    }
  }
  return {
    devices: [...byId.entries()]
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([devid, e]) => ({
        devid,
        location: [...e.location.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, l]) => l),
        daemons: [...e.daemons].sort(byDaemonKey),
      })),
  };
}
