// Every health check the exporter has seen, as Ceph's prometheus module
// keeps it (HealthHistory): a check that clears stays in
// ceph_health_detail at 0 instead of vanishing, so the alert rules built on
// `ceph_health_detail{name="..."} == 1` see it resolve. Stored in the
// module's store under Ceph's key (mgr/prometheus/health_history, Ceph's JSON
// shape), so the history survives a failover and a switch between Ceph's
// module and ours.
import type { CephJson } from '../../lib/mgr-module';

export interface HealthHistoryEntry {
  name: string;
  /** The severity when the check was first seen (Ceph keeps that one: the series' labels stay stable). */
  severity: string;
  /** Seconds since the Unix epoch. */
  first_seen: number;
  last_seen: number;
  /** How many times it became active. */
  count: number;
  active: boolean;
}

export const HEALTH_HISTORY_KEY = 'health_history';
/** Beyond this many distinct checks the oldest inactive ones are forgotten (the store value stays bounded). */
export const HEALTH_HISTORY_MAX = 1000;

export class HealthHistory {
  entries: Record<string, HealthHistoryEntry> = {};

  /** Reads Ceph's JSON; anything unreadable starts an empty history (and says why). */
  static parse(json: string | null): { history: HealthHistory; error?: string } {
    const h = new HealthHistory();
    if (!json) return { history: h };
    let data: unknown;
    try {
      data = JSON.parse(json);
    } catch (e) {
      return { history: h, error: `not JSON: ${(e as Error).message}` };
    }
    if (!data || typeof data !== 'object' || Array.isArray(data)) return { history: h, error: 'not a JSON object' };
    for (const [name, v] of Object.entries(data as Record<string, CephJson>)) {
      if (!v || typeof v !== 'object') continue;
      h.entries[name] = {
        name,
        severity: String(v.severity ?? ''),
        first_seen: Number(v.first_seen) || 0,
        last_seen: Number(v.last_seen) || 0,
        count: Number(v.count) || 1,
        active: v.active === undefined ? true : !!v.active,
      };
    }
    return { history: h };
  }

  /** Folds the current checks in (Ceph's HealthHistory.check); true when something changed. */
  check(checks: Record<string, { severity?: string }>, now = Date.now() / 1000): boolean {
    let changed = false;
    for (const e of Object.values(this.entries)) {
      if (e.active && !(e.name in checks)) {
        e.active = false;
        changed = true;
      }
    }
    for (const [name, c] of Object.entries(checks)) {
      const e = this.entries[name];
      if (!e) {
        this.entries[name] = { name, severity: String(c?.severity ?? ''), first_seen: now, last_seen: now, count: 1, active: true };
        changed = true;
      } else if (!e.active) {
        e.last_seen = now;
        e.count++;
        e.active = true;
        changed = true;
      }
    }
    const names = Object.keys(this.entries);
    if (names.length > HEALTH_HISTORY_MAX) {
      const old = names
        .filter((n) => !this.entries[n].active)
        .sort((a, b) => this.entries[a].last_seen - this.entries[b].last_seen)
        .slice(0, names.length - HEALTH_HISTORY_MAX);
      for (const n of old) delete this.entries[n];
    }
    return changed;
  }

  toJSON(): Record<string, HealthHistoryEntry> {
    return this.entries;
  }

  /** Ceph's plain listing: name, first and last seen (UTC), count, active. */
  toText(): string {
    const names = Object.keys(this.entries).sort();
    if (!names.length) return 'No healthchecks have been recorded';
    const stamp = (sec: number) => {
      const d = new Date(sec * 1000);
      const p = (n: number) => String(n).padStart(2, '0');
      return `${d.getUTCFullYear()}/${p(d.getUTCMonth() + 1)}/${p(d.getUTCDate())} ${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())}`;
    };
    const center = (s: string, w: number) => {
      const left = Math.floor((w - s.length) / 2);
      return ' '.repeat(Math.max(0, left)) + s + ' '.repeat(Math.max(0, w - s.length - left));
    };
    const row = (name: string, first: string, last: string, count: string, active: string) =>
      `${name.padEnd(24)}  ${first.padEnd(20)}  ${last.padEnd(20)}  ${count.padStart(5)}  ${center(active, 6)}`;
    const lines = [row('Healthcheck Name', 'First Seen (UTC)', 'Last seen (UTC)', 'Count', 'Active')];
    for (const n of names) {
      const e = this.entries[n];
      lines.push(row(e.name, stamp(e.first_seen), stamp(e.last_seen), String(e.count), e.active ? 'Yes' : 'No'));
    }
    lines.push(`${names.length} health check(s) listed`, '');
    return lines.join('\n');
  }
}
