// The CRUSH views: get('osd_map_crush') is the CRUSH map as `ceph osd crush
// dump` prints it (put by the feed as map "crush_map"; when none was put, one
// is synthesised: root "default" with a host bucket per OSD metadata
// hostname). get('osd_map_tree') is `ceph osd tree`'s "nodes"/"stray" form,
// built from the CRUSH map plus the osd map's up/in/reweight.
/* eslint-disable @typescript-eslint/no-explicit-any */
type Json = Record<string, any>;

const CRUSH_TYPES = ['osd', 'host', 'chassis', 'rack', 'row', 'pdu', 'pod', 'room', 'datacenter', 'zone', 'region', 'root'];
/** CRUSH weights are 16.16 fixed point. */
const WEIGHT_ONE = 0x10000;

export function synthesiseCrush(osdMap: Json | undefined, osdMetadata: Json | undefined): Json {
  const osds: number[] = (osdMap?.osds ?? []).map((o: Json) => o.osd).sort((a: number, b: number) => a - b);
  const hosts = new Map<string, number[]>();
  for (const id of osds) {
    const host = osdMetadata?.[String(id)]?.hostname ?? 'localhost';
    if (!hosts.has(host)) hosts.set(host, []);
    hosts.get(host)!.push(id);
  }
  const buckets: Json[] = [];
  const hostItems: Json[] = [];
  let nextId = -2;
  for (const [host, ids] of hosts) {
    const id = nextId--;
    const items = ids.map((osd, pos) => ({ id: osd, pos, weight: WEIGHT_ONE }));
    buckets.push({ alg: 'straw2', hash: 'rjenkins1', id, items, name: host, type_id: 1, type_name: 'host', weight: items.length * WEIGHT_ONE });
    hostItems.push({ id, pos: hostItems.length, weight: items.length * WEIGHT_ONE });
  }
  const root = {
    alg: 'straw2',
    hash: 'rjenkins1',
    id: -1,
    items: hostItems,
    name: 'default',
    type_id: 11,
    type_name: 'root',
    weight: osds.length * WEIGHT_ONE,
  };
  const classOf = (id: number) => osdMetadata?.[String(id)]?.default_device_class ?? 'hdd';
  return {
    buckets: [root, ...buckets],
    choose_args: {},
    devices: osds.map((id) => ({ class: classOf(id), id, name: `osd.${id}` })),
    rules: [
      {
        max_size: 10,
        min_size: 1,
        rule_id: 0,
        rule_name: 'replicated_rule',
        ruleset: 0,
        steps: [{ item: -1, item_name: 'default', op: 'take' }, { num: 0, op: 'chooseleaf_firstn', type: 'host' }, { op: 'emit' }],
        type: 1,
      },
    ],
    tunables: {
      allowed_bucket_algs: 54,
      choose_local_fallback_tries: 0,
      choose_local_tries: 0,
      choose_total_tries: 50,
      chooseleaf_descend_once: 1,
      chooseleaf_stable: 1,
      chooseleaf_vary_r: 1,
      has_v2_rules: 0,
      has_v3_rules: 0,
      has_v4_buckets: 1,
      has_v5_rules: 0,
      legacy_tunables: 0,
      minimum_required_version: 'jewel',
      optimal_tunables: 1,
      profile: 'jewel',
      require_feature_tunables: 1,
      require_feature_tunables2: 1,
      require_feature_tunables3: 1,
      require_feature_tunables5: 1,
      straw_calc_version: 1,
    },
    types: CRUSH_TYPES.map((name, type_id) => ({ name, type_id })),
  };
}

/** `ceph osd tree` nodes: buckets depth-first from each root, shadow (~class) trees skipped. */
export function osdTree(crush: Json, osdMap: Json | undefined): Json {
  const osdInfo = new Map<number, Json>();
  for (const o of osdMap?.osds ?? []) osdInfo.set(o.osd, o);
  const buckets = new Map<number, Json>();
  for (const b of crush.buckets ?? []) if (!String(b.name).includes('~')) buckets.set(b.id, b);
  const classes = new Map<number, string>();
  for (const d of crush.devices ?? []) if (d.class) classes.set(d.id, d.class);
  const childIds = new Set<number>();
  for (const b of buckets.values()) for (const it of b.items ?? []) childIds.add(it.id);
  const roots = [...buckets.values()].filter((b) => !childIds.has(b.id)).sort((a, b) => b.id - a.id);
  const nodes: Json[] = [];
  const placed = new Set<number>();
  const osdNode = (id: number, weight: number, depth: number | null): Json => {
    const o = osdInfo.get(id);
    const node: Json = { crush_weight: weight / WEIGHT_ONE };
    if (depth !== null) node.depth = depth;
    if (classes.has(id)) node.device_class = classes.get(id);
    node.exists = o ? 1 : 0;
    node.id = id;
    node.name = `osd.${id}`;
    if (depth !== null) node.pool_weights = {};
    node.primary_affinity = o?.primary_affinity ?? 1;
    node.reweight = o?.weight ?? 0;
    node.status = o?.up ? 'up' : 'down';
    node.type = 'osd';
    node.type_id = 0;
    return node;
  };
  const visit = (b: Json, depth: number) => {
    // Ceph's tree dumper lists children in reverse item order but visits them in item order.
    const items: Json[] = b.items ?? [];
    const node: Json = { children: [...items].reverse().map((it: Json) => it.id), id: b.id, name: b.name };
    if (depth > 0) node.pool_weights = {};
    node.type = b.type_name;
    node.type_id = b.type_id;
    nodes.push(node);
    for (const it of items) {
      if (it.id >= 0) {
        placed.add(it.id);
        nodes.push(osdNode(it.id, it.weight, depth + 1));
      } else if (buckets.has(it.id)) visit(buckets.get(it.id)!, depth + 1);
    }
  };
  for (const r of roots) visit(r, 0);
  const stray = [...osdInfo.keys()]
    .filter((id) => !placed.has(id))
    .sort((a, b) => a - b)
    .map((id) => osdNode(id, 0, null));
  return { nodes, stray };
}
