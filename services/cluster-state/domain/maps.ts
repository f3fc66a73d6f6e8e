// The cluster maps as the feed puts them: the exact JSON bytes of the latest
// epoch of each, kept as received (they are served as-is), plus the parsed
// object for derived views, parsed lazily.
import { StateError, invalid } from './errors';
import type { MapPersistence } from './kvstore';

/** Maps the feed may put, and whether their JSON carries its own "epoch". */
export const MAP_NAMES = [
  'osd_map',
  'fs_map',
  'mon_map',
  'service_map',
  'mgr_map',
  'osd_metadata',
  'mds_metadata',
  'mon_metadata',
  'health_mon',
  'mon_status',
  'config',
  'mon_config',
  'crush_map',
  'crush_map_text',
  'devices',
  'osd_ping_times',
  'rbd_image_stats',
  // The active manager's progress events (its report to the monitors): {"<id>": {message, progress, add_to_ceph_s}}.
  'progress_events',
  // Not a Ceph map: the simulator's CRUSH results for the current osd map
  // epoch (up and acting per PG), which module-host's stand-in OSDMap maps with.
  'pg_mappings',
] as const;
export type MapName = (typeof MAP_NAMES)[number];
const MAP_SET = new Set<string>(MAP_NAMES);

export interface StoredMap {
  epoch: number;
  bytes: Buffer;
  /** Bumped on every put: derived views key their caches on it. */
  version: number;
  parsed?: unknown;
}

export class ClusterMaps {
  private maps = new Map<string, StoredMap>();
  private versionCounter = 0;

  constructor(private persistence?: MapPersistence) {
    for (const row of persistence?.loadMaps() ?? []) {
      if (MAP_SET.has(row.name)) this.maps.set(row.name, { epoch: row.epoch, bytes: Buffer.from(row.json), version: ++this.versionCounter });
    }
  }

  static isMapName(name: string): name is MapName {
    return MAP_SET.has(name);
  }

  /** Validates and stores; throws StateError and changes nothing on bad input. */
  put(name: string, epoch: number, json: Uint8Array): StoredMap {
    if (!name) throw invalid(`map name is empty; one of: ${MAP_NAMES.join(', ')}`);
    if (!MAP_SET.has(name)) throw invalid(`unknown map '${name}'; one of: ${MAP_NAMES.join(', ')}`);
    if (!Number.isSafeInteger(epoch) || epoch < 1) throw invalid(`map '${name}': epoch must be a whole number of at least 1, got ${epoch}`);
    const current = this.maps.get(name);
    if (current && epoch <= current.epoch) {
      throw new StateError('precondition', `map '${name}': epoch ${epoch} is not above the stored epoch ${current.epoch}`);
    }
    let parsed: unknown;
    const bytes = Buffer.from(json.buffer, json.byteOffset, json.byteLength);
    try {
      parsed = JSON.parse(bytes.toString('utf8'));
    } catch (e) {
      throw invalid(`map '${name}': JSON does not parse: ${(e as Error).message}`);
    }
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
      throw invalid(`map '${name}': JSON must be an object, got ${Array.isArray(parsed) ? 'an array' : parsed === null ? 'null' : typeof parsed}`);
    }
    const own = (parsed as Record<string, unknown>).epoch;
    if (own !== undefined && own !== epoch) {
      throw invalid(`map '${name}': the JSON's "epoch" is ${JSON.stringify(own)} but the request's epoch is ${epoch}`);
    }
    // A map of Ceph's own (it carries its epoch) has a 32-bit epoch (epoch_t); feeders' counters for the others may be larger.
    if (own !== undefined && epoch > 0xffffffff) {
      throw invalid(`map '${name}': epoch ${epoch} is above 4294967295; Ceph's map epochs are 32-bit (epoch_t)`);
    }
    // Keep our own copy: the request buffer belongs to the transport.
    const stored: StoredMap = { epoch, bytes: Buffer.from(bytes), version: ++this.versionCounter, parsed };
    this.persistence?.saveMap(name, epoch, stored.bytes);
    this.maps.set(name, stored);
    return stored;
  }

  get(name: string): StoredMap | undefined {
    return this.maps.get(name);
  }

  /** The parsed object, parsed at most once per epoch. */
  parsed<T = Record<string, unknown>>(name: string): T | undefined {
    const m = this.maps.get(name);
    if (!m) return undefined;
    if (m.parsed === undefined) m.parsed = JSON.parse(m.bytes.toString('utf8'));
    return m.parsed as T;
  }

  epoch(name: string): number {
    return this.maps.get(name)?.epoch ?? 0;
  }

  version(name: string): number {
    return this.maps.get(name)?.version ?? 0;
  }
}
