// Which OSDs a CRUSH rule can reach, as Ceph's restful computes it
// (common.crush_rule_osds): walk each `take` step's subtree with the
// following choose/chooseleaf steps. Used for /crush/rule's osd_count and
// /osd's pools.

/* eslint-disable @typescript-eslint/no-explicit-any */
type Json = any;

export function crushRuleOsds(buckets: Json[], rule: Json): Set<number> {
  const byId = new Map<number, Json>(buckets.map((b) => [b.id, b]));
  const leaves = (id: number, seen = new Set<number>()): Set<number> => {
    if (id >= 0) return new Set([id]);
    const out = new Set<number>();
    if (seen.has(id)) return out; // a malformed map with a cycle ends here
    seen.add(id);
    for (const item of byId.get(id)?.items ?? []) for (const x of leaves(item.id, seen)) out.add(x);
    return out;
  };
  const descendants = (node: Json, type: string, seen = new Set<number>()): Set<number> => {
    const out = new Set<number>();
    if (seen.has(node.id)) return out;
    seen.add(node.id);
    for (const item of node.items ?? []) {
      if (item.id >= 0) {
        if (type === 'osd') out.add(item.id);
        continue;
      }
      const child = byId.get(item.id);
      if (!child) continue;
      if (child.type_name === type) out.add(child.id);
      else if (child.items) for (const x of descendants(child, type, seen)) out.add(x);
    }
    return out;
  };
  const gather = (root: Json, steps: Json[]): Set<number> => {
    const out = new Set<number>();
    if (root.id >= 0) return new Set([root.id]);
    const step = steps[0];
    if (!step) return out;
    if (step.op === 'choose_firstn' || step.op === 'chooseleaf_firstn') {
      for (const id of descendants(root, step.type)) {
        if (id >= 0) out.add(id);
        else if (step.op === 'choose_firstn') for (const x of gather(byId.get(id) ?? { id, items: [] }, steps.slice(1))) out.add(x);
        else for (const item of byId.get(id)?.items ?? []) for (const x of leaves(item.id)) out.add(x);
      }
    }
    return out;
  };
  const osds = new Set<number>();
  (rule.steps ?? []).forEach((step: Json, i: number) => {
    if (step.op !== 'take') return;
    const root = byId.get(step.item);
    if (root) for (const x of gather(root, rule.steps.slice(i + 1))) osds.add(x);
  });
  return osds;
}
