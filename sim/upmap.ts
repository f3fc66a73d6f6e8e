// The OSD map's pg_upmap_items (`ceph osd pg-upmap-items <pgid> <from> <to>
// ...`, what the balancer's upmap mode sends): per PG, pairs of OSDs that
// replace one OSD of the PG's CRUSH mapping with another. Applied as Ceph's
// OSDMap::_apply_upmap does: a pair is skipped when its target is out or
// already in the set, or its source is not in the set.

export type UpmapPair = [from: number, to: number];

export class UpmapItems {
  private readonly items = new Map<string, UpmapPair[]>();

  get size(): number {
    return this.items.size;
  }

  get(pgid: string): UpmapPair[] | undefined {
    return this.items.get(pgid);
  }

  set(pgid: string, pairs: UpmapPair[]): void {
    this.items.set(
      pgid,
      pairs.map(([f, t]) => [f, t]),
    );
  }

  /** Removes a PG's items; whether it had any. */
  delete(pgid: string): boolean {
    return this.items.delete(pgid);
  }

  /** Drops the items of a pool's PGs (the pool was removed). */
  deletePool(pool: number): void {
    for (const pgid of [...this.items.keys()]) if (pgid.startsWith(`${pool}.`)) this.items.delete(pgid);
  }

  /** The PG's OSDs after its items: `raw` is the CRUSH mapping; usable(osd): in and weighted. */
  apply(pgid: string, raw: number[], usable: (osd: number) => boolean): number[] {
    const pairs = this.items.get(pgid);
    if (!pairs) return raw;
    const out = [...raw];
    for (const [from, to] of pairs) {
      const i = out.indexOf(from);
      if (i < 0 || out.includes(to) || !usable(to)) continue;
      out[i] = to;
    }
    return out;
  }

  /** The osd map dump's `pg_upmap_items`, ordered by pgid as Ceph's map is. */
  dump(): Array<{ pgid: string; mappings: Array<{ from: number; to: number }> }> {
    return [...this.items.entries()]
      .sort(([a], [b]) => comparePgids(a, b))
      .map(([pgid, pairs]) => ({ pgid, mappings: pairs.map(([from, to]) => ({ from, to })) }));
  }
}

/** Orders "1.a" before "1.10" and pool 2 after pool 1 (pg_t's order). */
export function comparePgids(a: string, b: string): number {
  const [pa, sa] = a.split('.');
  const [pb, sb] = b.split('.');
  return Number(pa) - Number(pb) || parseInt(sa, 16) - parseInt(sb, 16);
}
