// The health document as cluster-state serves it: get('health') is
// {"json": "<string>"}, as a module sees Ceph's health digest.

/* eslint-disable @typescript-eslint/no-explicit-any */
type Json = any;

/** The parsed document; a document that does not parse reads as a warning, never a crash. */
export function parseHealth(h: Json): Json {
  if (h && typeof h.json === 'string') {
    try {
      return JSON.parse(h.json);
    } catch {
      return { status: 'HEALTH_WARN', checks: {}, mutes: [] };
    }
  }
  return h ?? { status: 'HEALTH_OK', checks: {}, mutes: [] };
}
