// The one table of how a real cluster's monitors become cluster-state's maps:
// for each get() key a Ceph module may ask for, the cluster-state map it is
// stored as, what makes the feed read it again, the monitor command that
// reads it, and the transform from the command's JSON to the shape a real
// ceph-mgr hands its modules (shared/fixtures/ceph-pacific/mgrget-*.json).
// test/table.test.ts feeds the real CLI outputs of the fixtures through
// every transform and compares the result with the mgrget fixture.

/** What makes the feed read a row again. */
export type Trigger =
  /** a new osdmap epoch from the subscription */
  | 'osdmap'
  /** a new fsmap epoch */
  | 'fsmap'
  /** a new monmap epoch */
  | 'monmap'
  /** every period (health and configuration change without a map epoch) */
  | 'period'
  /** the monitors' MMgrDigest (every mon_mgr_digest_period, 5 s); until one arrives, every period from `command` */
  | 'digest';

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- Ceph's JSON, read field by field
type Json = any;

export interface FeedRow {
  /** The get() key modules read it with. */
  get: string;
  /** The map name cluster-state's PutMap takes (its README lists them). */
  map: string;
  trigger: Trigger;
  /** The monitor command that reads it (format json is added). */
  command: Record<string, unknown>;
  /** From the command's JSON to what cluster-state stores. */
  transform: (out: Json) => Json;
  /** Whether the JSON carries its own epoch (osd_map, fs_map, mon_map); the others are put with a stamp of the feed's. */
  ownEpoch: boolean;
  /** The monitors' caps the command needs (for the README's table). */
  caps: string;
  /**
   * Fixtures that check the row: a CLI output (shared/fixtures/ceph-pacific or test/fixtures) and
   * what ceph-mgr gives modules ('sim': mgrpc's own key, in the simulator's form).
   */
  fixture: {
    cli: string;
    mgrget: string;
    mapPaths?: string[];
    /** The mgrget fixture is one entry of the map, under this key (get_metadata of one daemon). */
    mgrgetEntry?: string;
  };
}

/** `ceph <x> metadata` lists daemons; ceph-mgr keys them by id (or name) and drops that field. */
function keyedBy(field: 'id' | 'name'): (list: Json) => Json {
  return (list: Json) => {
    if (!Array.isArray(list)) throw new Error(`expected a list of daemon metadata, got ${typeof list}`);
    const out: Record<string, Json> = {};
    for (const d of list) {
      if (d === null || typeof d !== 'object' || d[field] === undefined) throw new Error(`daemon metadata without "${field}"`);
      const { [field]: key, ...rest } = d;
      out[String(key)] = rest;
    }
    return out;
  };
}

const identity = (x: Json) => x;

export const FEED_TABLE: FeedRow[] = [
  {
    get: 'osd_map',
    map: 'osd_map',
    trigger: 'osdmap',
    command: { prefix: 'osd dump' },
    transform: identity,
    ownEpoch: true,
    caps: "mon 'allow r'",
    fixture: { cli: 'osd-dump.json', mgrget: 'mgrget-osd_map.json' },
  },
  {
    // cluster-state serves it as osd_map_crush and derives osd_map_tree from it and the osd map
    get: 'osd_map_crush',
    map: 'crush_map',
    trigger: 'osdmap',
    command: { prefix: 'osd crush dump' },
    transform: identity,
    ownEpoch: false,
    caps: "mon 'allow r'",
    fixture: { cli: 'osd-crush-dump.json', mgrget: 'mgrget-osd_map_crush.json' },
  },
  {
    get: 'osd_metadata',
    map: 'osd_metadata',
    trigger: 'osdmap',
    command: { prefix: 'osd metadata' },
    transform: keyedBy('id'),
    ownEpoch: false,
    caps: "mon 'allow r'",
    fixture: { cli: 'osd-metadata.json', mgrget: 'mgrget-osd_metadata.json', mapPaths: ['$'] },
  },
  {
    get: 'fs_map',
    map: 'fs_map',
    trigger: 'fsmap',
    command: { prefix: 'fs dump' },
    transform: identity,
    ownEpoch: true,
    caps: "mon 'allow r'",
    fixture: { cli: 'fs-dump.json', mgrget: 'mgrget-fs_map.json' },
  },
  {
    get: 'mds_metadata',
    map: 'mds_metadata',
    trigger: 'fsmap',
    command: { prefix: 'mds metadata' },
    transform: keyedBy('name'),
    ownEpoch: false,
    caps: "mon 'allow r'",
    fixture: { cli: 'mds-metadata.json', mgrget: 'mgrget-mds_metadata.json', mapPaths: ['$'] },
  },
  {
    // `mon dump` adds the quorum, which ceph-mgr's monmap dump has not
    get: 'mon_map',
    map: 'mon_map',
    trigger: 'monmap',
    command: { prefix: 'mon dump' },
    transform: ({ quorum: _quorum, ...monmap }: Json) => monmap,
    ownEpoch: true,
    caps: "mon 'allow r'",
    fixture: { cli: 'mon-dump.json', mgrget: 'mgrget-mon_map.json' },
  },
  {
    get: 'mon_metadata',
    map: 'mon_metadata',
    trigger: 'monmap',
    command: { prefix: 'mon metadata' },
    transform: keyedBy('name'),
    ownEpoch: false,
    caps: "mon 'allow r'",
    // no mgrget fixture of the whole map: each entry is what get_metadata('mon', id) gives
    fixture: { cli: 'mon-metadata.json', mgrget: 'mgrget-get_metadata-mon-a.json', mgrgetEntry: 'a' },
  },
  {
    // cluster-state wraps it as {"json": "<string>"}, as ceph-mgr's digest gives it
    get: 'mon_status',
    map: 'mon_status',
    trigger: 'digest',
    command: { prefix: 'quorum_status' },
    transform: monStatusFromQuorumStatus,
    ownEpoch: false,
    caps: "mon 'allow r'",
    fixture: { cli: 'quorum-status.json', mgrget: 'mgrget-mon_status.json' },
  },
  {
    // the monitors' part of health; cluster-state merges its own checks and wraps it as {"json": "<string>"}
    get: 'health',
    map: 'health_mon',
    trigger: 'period',
    command: { prefix: 'health', detail: 'detail' },
    transform: identity,
    ownEpoch: false,
    caps: "mon 'allow r'",
    fixture: { cli: 'health-detail-warn.json', mgrget: 'mgrget-health-warn.json' },
  },
  {
    // the manager's own configuration: what the monitors' config database sets for the mgr section
    // (and global), flattened to option -> value as ceph-mgr's get('config') gives it
    get: 'config',
    map: 'config',
    trigger: 'period',
    command: { prefix: 'config get', who: 'mgr' },
    transform: (opts: Json) => Object.fromEntries(Object.entries(opts as Record<string, { value: string }>).map(([k, v]) => [k, String(v.value)])),
    ownEpoch: false,
    caps: "mon 'allow r'",
    fixture: { cli: 'test/fixtures/config-get-mgr.json', mgrget: 'mgrget-config.json' },
  },
  {
    // mgrpc's own key (daemon-server answers `config dump` and friends from it): the monitors' configuration database
    get: 'mon_config',
    map: 'mon_config',
    trigger: 'period',
    command: { prefix: 'config dump' },
    transform: (options: Json) => {
      if (!Array.isArray(options)) throw new Error(`expected the list \`config dump\` prints, got ${typeof options}`);
      return { options };
    },
    ownEpoch: false,
    caps: "mon 'allow r'",
    // no ceph-mgr counterpart: checked against the simulator's form (sim/cluster.ts ConfigEntry)
    fixture: { cli: 'test/fixtures/config-dump.json', mgrget: 'sim' },
  },
];

/** get() keys cluster-state derives from the rows above (checked by the table test through a real cluster-state). */
export const DERIVED_KEYS: Array<{ get: string; from: string[]; mgrget: string }> = [
  { get: 'osd_map_tree', from: ['osd_map', 'crush_map'], mgrget: 'mgrget-osd_map_tree.json' },
];

/**
 * get() keys the monitors cannot answer, or that this feed leaves to others:
 * mgr_map is the standby service's until the monitors' MgrMap becomes the
 * authority (the next step); the rest come from the daemons' reports to an
 * active manager.
 */
export const NOT_FED = [
  'mgr_map',
  'service_map',
  'devices',
  'osd_ping_times',
  'pg_progress',
  'crush_map_text',
  'osdmap_crush_map_text',
  'rbd_image_stats',
  // the monitors' cluster log (`log last`, the log-* subscriptions) is not followed yet
  'cluster_log',
  // the progress module's events (it reports them to cluster-state itself)
  'progress_events',
  // cluster-state's own view of the fed mon_config (the options set away from their defaults)
  'modified_config_options',
  // the checks the active manager reports to the monitors (cluster-state derives them; the monitors' own are health_mon)
  'health_mgr',
];

/**
 * mon_status until the first MMgrDigest arrives: the fields `quorum_status`
 * has, in mon_status's layout, for the leader (`feature_map` and the
 * required features are not in it and stay empty).
 */
export function monStatusFromQuorumStatus(q: Json): Json {
  const monmap = q.monmap ?? {};
  const mons: Json[] = monmap.mons ?? [];
  const leader = mons.find((m) => m.name === q.quorum_leader_name);
  return {
    name: q.quorum_leader_name ?? '',
    rank: leader?.rank ?? -1,
    state: 'leader',
    election_epoch: q.election_epoch ?? 0,
    quorum: q.quorum ?? [],
    quorum_age: q.quorum_age ?? 0,
    features: { required_con: '0', required_mon: [], quorum_con: q.features?.quorum_con ?? '0', quorum_mon: q.features?.quorum_mon ?? [] },
    outside_quorum: mons.filter((m) => !(q.quorum ?? []).includes(m.rank)).map((m) => m.name),
    extra_probe_peers: [],
    sync_provider: [],
    monmap,
    feature_map: {},
    stretch_mode: monmap.stretch_mode ?? false,
  };
}

/** The monitor command of a row, as sent (JSON output). */
export function rowCommand(row: FeedRow): Record<string, unknown> {
  return { ...row.command, format: 'json' };
}
