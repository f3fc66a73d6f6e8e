// What a raised health check may look like, checked one check at a time: a
// bad check is refused with a reason and the good ones beside it are kept
// (one module's typo must not hide another module's failure). Shared by
// cluster-state, which stores the checks, and module-host, which checks its
// modules' before sending them on. Oversized text is cut, not refused: the
// alert matters more than its tenth thousand detail line (Ceph's monitors
// cut details too, mon_health_max_detail).
import { HealthSeverity, type HealthCheck } from './gen/ceph/mgr/v1/common';

/** Ceph's codes: upper-case letters, digits and _ (MGR_MODULE_ERROR, OSD_DOWN). */
export const HEALTH_CODE_RE = /^[A-Z0-9_]{1,64}$/;
/** Checks one source may raise at once; the rest are refused. */
export const MAX_HEALTH_CHECKS = 1000;
export const MAX_SUMMARY_CHARS = 1024;
export const MAX_DETAIL_LINES = 1000;
export const MAX_DETAIL_CHARS = 1024;

/** A check that was not taken, and why (SetHealthChecksResponse.refused). */
export interface RefusedCheck {
  code: string;
  reason: string;
}

/** Why this one check cannot be taken, or null. */
export function healthCheckProblem(c: Pick<HealthCheck, 'code' | 'severity'>): string | null {
  if (!HEALTH_CODE_RE.test(c.code ?? ''))
    return `health check code '${String(c.code ?? '').slice(0, 80)}' must be 1-64 upper-case letters, digits and _ (e.g. MGR_MODULE_ERROR)`;
  const s = c.severity as number;
  if (s !== HealthSeverity.HEALTH_SEVERITY_UNSPECIFIED && s !== HealthSeverity.HEALTH_SEVERITY_WARNING && s !== HealthSeverity.HEALTH_SEVERITY_ERROR)
    return `health check ${c.code}: severity ${s} is neither WARNING (1) nor ERROR (2)`;
  return null;
}

function cut(s: string, max: number): string {
  return s.length <= max ? s : `${s.slice(0, max - 1)}…`;
}

/** The check with its text within the limits. */
export function boundHealthCheck(c: HealthCheck): HealthCheck {
  const lines =
    c.detail.length <= MAX_DETAIL_LINES ? c.detail : [...c.detail.slice(0, MAX_DETAIL_LINES - 1), `… and ${c.detail.length - MAX_DETAIL_LINES + 1} more`];
  return { ...c, summary: cut(c.summary, MAX_SUMMARY_CHARS), detail: lines.map((l) => cut(l, MAX_DETAIL_CHARS)) };
}

/**
 * Splits a set of checks into the ones to keep (bounded) and the refused
 * ones with their reasons: bad codes and severities, a code given twice
 * (the first is kept), and anything past MAX_HEALTH_CHECKS.
 */
export function screenHealthChecks(checks: HealthCheck[]): { accepted: HealthCheck[]; refused: RefusedCheck[] } {
  const accepted: HealthCheck[] = [];
  const refused: RefusedCheck[] = [];
  const seen = new Set<string>();
  for (const c of checks) {
    const problem = healthCheckProblem(c);
    if (problem) refused.push({ code: String(c.code ?? ''), reason: problem });
    else if (seen.has(c.code)) refused.push({ code: c.code, reason: `health check ${c.code} appears twice; the first one is kept` });
    else if (accepted.length >= MAX_HEALTH_CHECKS) refused.push({ code: c.code, reason: `more than ${MAX_HEALTH_CHECKS} health checks from one source` });
    else {
      seen.add(c.code);
      accepted.push(boundHealthCheck(c));
    }
  }
  return { accepted, refused };
}
