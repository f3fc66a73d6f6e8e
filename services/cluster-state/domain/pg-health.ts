// Health checks Ceph's manager derives from PG and OSD statistics (after
// PGMap::get_health_checks in src/mon/PGMap.cc, Pacific) beyond the ones
// state.ts always had (OSD_DOWN, PG_DEGRADED, PG_AVAILABILITY): damaged PGs,
// recovery and backfill held up by full OSDs, scrub errors, repaired reads,
// unfound objects, the OSDs' object store alerts (BLUESTORE_*), too many PGs
// per OSD, PGs not (deep-)scrubbed in time.
// Ceph's shipped alert rules fire on these. A pure function of the stats.

/** Ceph's defaults for the options these checks read. */
export const PG_HEALTH_DEFAULTS = {
  mon_osd_warn_num_repaired: 10,
  mon_max_pg_per_osd: 250,
  osd_scrub_max_interval: 7 * 86400,
  osd_deep_scrub_interval: 7 * 86400,
  mon_warn_pg_not_scrubbed_ratio: 0.5,
  mon_warn_pg_not_deep_scrubbed_ratio: 0.75,
  mon_health_max_detail: 50,
};

export interface PgHealthInput {
  pgStats: Iterable<{
    pgid: string;
    state: string;
    acting?: number[];
    up?: number[];
    last_scrub_stamp?: string;
    last_deep_scrub_stamp?: string;
    /** The same stamps as seconds, when the caller has them so (the PG map's columns): no text to parse. */
    scrubSeconds?: number;
    deepScrubSeconds?: number;
    stat_sum?: { num_objects_unfound?: number };
  }>;
  /** osd_stat_t: repaired reads, and the object store's alerts ({type: message}, or a list of such). */
  osdStats: Iterable<{ osd: number; num_shards_repaired?: number; alerts?: unknown }>;
  /** The PG stat sum over every PG. */
  sum: { num_scrub_errors?: number; num_objects_unfound?: number; num_objects?: number };
  /** OSDs marked in, from the osd map. */
  numInOsds: number;
  /**
   * The up sets' sizes summed over every PG, when the caller keeps that sum
   * (the PG map does): then `pgStats` need only list the PGs that may raise a
   * check (not active+clean, unfound objects, a scrub stamp before its
   * `scrubCutoffs` cutoff: PgMap.healthPgs(cutoffs)). Without it, every PG.
   */
  upTotal?: number;
  /** Seconds since the Unix epoch. */
  now: number;
  config?: Partial<typeof PG_HEALTH_DEFAULTS>;
}

export interface DerivedCheck {
  severity: 'HEALTH_WARN' | 'HEALTH_ERR';
  message: string;
  count: number;
  detail: string[];
}

// What PGMap calls the object store alerts OSDs report; others read "<TYPE> on N OSD(s)".
const OS_ALERT_SUMMARY: Record<string, string> = {
  BLUEFS_SPILLOVER: 'BlueFS spillover detected',
  BLUESTORE_NO_COMPRESSION: 'BlueStore compression broken',
  BLUESTORE_SPURIOUS_READ_ERRORS: 'Detected spurious read errors',
  BLUESTORE_DISK_SIZE_MISMATCH: 'BlueStore has dangerous mismatch between block device and free list sizes',
};

/** An osd_stat_t's alerts as [type, message] pairs (dumped as an object or a list of objects). */
function osdAlerts(alerts: unknown): Array<[string, string]> {
  const list = Array.isArray(alerts) ? alerts : alerts && typeof alerts === 'object' ? [alerts] : [];
  return list.flatMap((a) =>
    a && typeof a === 'object' ? Object.entries(a as Record<string, unknown>).map(([k, v]): [string, string] => [k, String(v)]) : [],
  );
}

// PG states and what they mean for the cluster (PGMap's pg_consequence_t).
const CONSEQUENCES: Array<{ code: string; summary: string; severity: DerivedCheck['severity']; states: string[] }> = [
  {
    code: 'PG_DAMAGED',
    summary: 'Possible data damage',
    severity: 'HEALTH_ERR',
    states: ['inconsistent', 'snaptrim_error', 'recovery_unfound', 'backfill_unfound', 'failed_repair'],
  },
  { code: 'PG_RECOVERY_FULL', summary: 'Degraded data redundancy (low space)', severity: 'HEALTH_ERR', states: ['recovery_toofull'] },
  {
    code: 'PG_BACKFILL_FULL',
    summary: "Low space hindering backfill (add storage if this doesn't resolve itself)",
    severity: 'HEALTH_WARN',
    states: ['backfill_toofull'],
  },
];

/** Ceph's utime_t text ("2026-11-25T05:37:55.545453+0000") to seconds; NaN when unreadable. */
export function stampSeconds(s: string | undefined): number {
  if (!s) return NaN;
  const m = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?)([+-]\d{4})$/.exec(s);
  return Date.parse(m ? `${m[1]}${m[2].slice(0, 3)}:${m[2].slice(3)}` : s) / 1000;
}

/** The same text for a time (UTC): stamps in UTC compare as strings, so most PGs need no parsing. */
function utcStamp(sec: number): string {
  if (!Number.isFinite(sec)) return '';
  return new Date(sec * 1000).toISOString().replace(/\.(\d{3})Z$/, '.$1000+0000');
}

/** Whether a stamp is before a cutoff (given both ways); a stamp that is not UTC or absent is parsed. */
function before(stamp: string | undefined, cutoff: string, cutoffSeconds: number): boolean {
  if (stamp && stamp.length === cutoff.length && stamp.endsWith('+0000')) return stamp < cutoff;
  const t = stampSeconds(stamp);
  return Number.isFinite(t) && t < cutoffSeconds;
}

/**
 * Before which time (seconds) a PG's last scrub and last deep scrub make it
 * "not (deep-)scrubbed in time"; -Infinity when that check is off.
 */
export function scrubCutoffs(now: number, config?: Partial<typeof PG_HEALTH_DEFAULTS>): { scrub: number; deep: number } {
  const cfg = { ...PG_HEALTH_DEFAULTS, ...config };
  return {
    scrub: cfg.mon_warn_pg_not_scrubbed_ratio
      ? now - (cfg.mon_warn_pg_not_scrubbed_ratio * cfg.osd_scrub_max_interval + cfg.osd_scrub_max_interval)
      : -Infinity,
    deep: cfg.mon_warn_pg_not_deep_scrubbed_ratio
      ? now - (cfg.mon_warn_pg_not_deep_scrubbed_ratio * cfg.osd_deep_scrub_interval + cfg.osd_deep_scrub_interval)
      : -Infinity,
  };
}

export function pgHealthChecks(input: PgHealthInput): Map<string, DerivedCheck> {
  const cfg = { ...PG_HEALTH_DEFAULTS, ...input.config };
  const max = cfg.mon_health_max_detail;
  const out = new Map<string, DerivedCheck>();
  const byState = CONSEQUENCES.map(() => new Map<string, number>());
  const pgCount = CONSEQUENCES.map(() => 0);
  const pgDetail: string[][] = CONSEQUENCES.map(() => []);
  const unfound: string[] = [];
  let sumUp = 0;
  const notScrubbed: string[] = [];
  const notDeep: string[] = [];
  let notScrubbedTotal = 0;
  let notDeepTotal = 0;
  const { scrub: scrubCutoff, deep: deepCutoff } = scrubCutoffs(input.now, cfg);
  const [scrubCutoffText, deepCutoffText] = [utcStamp(scrubCutoff), utcStamp(deepCutoff)];

  for (const pg of input.pgStats) {
    // most PGs are active+clean: nothing to look at in their state
    if (pg.state !== 'active+clean') {
      const states = String(pg.state).split('+');
      CONSEQUENCES.forEach((c, i) => {
        const hit = c.states.filter((s) => states.includes(s));
        if (!hit.length) return;
        for (const s of hit) byState[i].set(s, (byState[i].get(s) ?? 0) + 1);
        pgCount[i]++;
        if (pgDetail[i].length < max) pgDetail[i].push(`pg ${pg.pgid} is ${pg.state}, acting [${(pg.acting ?? []).join(',')}]`);
      });
    }
    const u = pg.stat_sum?.num_objects_unfound ?? 0;
    if (u && unfound.length < max) unfound.push(`pg ${pg.pgid} has ${u} unfound objects`);
    if (input.upTotal === undefined) sumUp += (pg.up ?? []).length;
    if (
      cfg.mon_warn_pg_not_scrubbed_ratio &&
      (pg.scrubSeconds !== undefined ? pg.scrubSeconds < scrubCutoff : before(pg.last_scrub_stamp, scrubCutoffText, scrubCutoff))
    ) {
      if (notScrubbed.length < max) notScrubbed.push(`pg ${pg.pgid} not scrubbed since ${pg.last_scrub_stamp}`);
      notScrubbedTotal++;
    }
    if (
      cfg.mon_warn_pg_not_deep_scrubbed_ratio &&
      (pg.deepScrubSeconds !== undefined ? pg.deepScrubSeconds < deepCutoff : before(pg.last_deep_scrub_stamp, deepCutoffText, deepCutoff))
    ) {
      if (notDeep.length < max) notDeep.push(`pg ${pg.pgid} not deep-scrubbed since ${pg.last_deep_scrub_stamp}`);
      notDeepTotal++;
    }
  }

  CONSEQUENCES.forEach((c, i) => {
    if (!byState[i].size) return;
    const parts = [...byState[i]].map(([s, n]) => `${n} pg${n === 1 ? '' : 's'} ${s}`);
    out.set(c.code, { severity: c.severity, message: `${c.summary}: ${parts.join(', ')}`, count: pgCount[i], detail: pgDetail[i] });
  });

  const scrubErrors = input.sum.num_scrub_errors ?? 0;
  if (scrubErrors) out.set('OSD_SCRUB_ERRORS', { severity: 'HEALTH_ERR', message: `${scrubErrors} scrub errors`, count: scrubErrors, detail: [] });

  const repaired: string[] = [];
  const storeAlerts = new Map<string, { osds: number; detail: string[] }>();
  for (const o of input.osdStats) {
    if ((o.num_shards_repaired ?? 0) > cfg.mon_osd_warn_num_repaired) repaired.push(`osd.${o.osd} had ${o.num_shards_repaired} reads repaired`);
    for (const [type, message] of osdAlerts(o.alerts)) {
      if (!/^[A-Z0-9_]+$/.test(type)) continue;
      const a = storeAlerts.get(type) ?? { osds: 0, detail: [] };
      a.osds++;
      if (a.detail.length < max) a.detail.push(` osd.${o.osd} ${message}`);
      storeAlerts.set(type, a);
    }
  }
  for (const [type, a] of storeAlerts)
    out.set(type, { severity: 'HEALTH_WARN', message: `${OS_ALERT_SUMMARY[type] ?? type} on ${a.osds} OSD(s)`, count: a.osds, detail: a.detail });
  if (repaired.length)
    out.set('OSD_TOO_MANY_REPAIRS', {
      severity: 'HEALTH_WARN',
      message: `Too many repaired reads on ${repaired.length} OSDs`,
      count: repaired.length,
      detail: repaired,
    });

  const lost = input.sum.num_objects_unfound ?? 0;
  const objects = input.sum.num_objects ?? 0;
  if (lost && objects) {
    const pct = ((100 * lost) / objects).toFixed(3);
    out.set('OBJECT_UNFOUND', { severity: 'HEALTH_WARN', message: `${lost}/${objects} objects unfound (${pct}%)`, count: lost, detail: unfound });
  }

  if (input.upTotal !== undefined) sumUp = input.upTotal;
  if (input.numInOsds && cfg.mon_max_pg_per_osd > 0) {
    const per = Math.floor(sumUp / input.numInOsds);
    if (per > cfg.mon_max_pg_per_osd)
      out.set('TOO_MANY_PGS', {
        severity: 'HEALTH_WARN',
        message: `too many PGs per OSD (${per} > max ${cfg.mon_max_pg_per_osd})`,
        count: per - cfg.mon_max_pg_per_osd,
        detail: [],
      });
  }

  if (notScrubbedTotal)
    out.set('PG_NOT_SCRUBBED', {
      severity: 'HEALTH_WARN',
      message: `${notScrubbedTotal} pgs not scrubbed in time`,
      count: notScrubbedTotal,
      detail: notScrubbed,
    });
  if (notDeepTotal)
    out.set('PG_NOT_DEEP_SCRUBBED', {
      severity: 'HEALTH_WARN',
      message: `${notDeepTotal} pgs not deep-scrubbed in time`,
      count: notDeepTotal,
      detail: notDeep,
    });
  return out;
}
