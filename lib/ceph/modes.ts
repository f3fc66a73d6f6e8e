// Connection modes: whether a msgr2 connection is crc (checksummed) or
// secure (encrypted), chosen per connection the way Ceph chooses it
// (src/auth/AuthRegistry.cc, Pacific: get_supported_methods, pick_mode).
//
// Six settings hold ordered lists of modes ("secure crc"); which one
// governs depends on who we are and who the peer is:
//
//   we are          peer is              setting
//   a client        a monitor or mgr     ms_mon_client_mode
//   a client        anything else        ms_client_mode
//   a mon or mgr    a monitor or mgr     ms_mon_cluster_mode
//   a mon or mgr    anything else        ms_mon_service_mode
//   an OSD or MDS   a monitor or mgr     ms_mon_cluster_mode
//   an OSD or MDS   an OSD or MDS        ms_cluster_mode
//   an OSD or MDS   a client             ms_service_mode
//
// The connecting side sends its list in AUTH_REQUEST, in order of
// preference; the accepting side takes the first of them its own list
// allows, or refuses with AUTH_BAD_METHOD naming what it allows. With auth
// method none only crc is possible (no secret to encrypt with). Pacific's
// defaults: "secure crc" for the ms_mon_* settings, "crc secure" for the
// others; a cluster that requires encryption sets them all to "secure".
import type { CephConf } from './conf';
import { AuthMethod, ConMode } from './auth';
import { EntityType } from './types';

export const MS_MODE_OPTIONS = [
  'ms_cluster_mode',
  'ms_service_mode',
  'ms_client_mode',
  'ms_mon_cluster_mode',
  'ms_mon_service_mode',
  'ms_mon_client_mode',
] as const;
export type MsModeOption = (typeof MS_MODE_OPTIONS)[number];

/** The six settings, each an ordered list of ConMode values. */
export type ModeSettings = Record<MsModeOption, number[]>;

/** A mode setting that cannot be read (an unknown mode name, an empty list). */
export class ModeError extends Error {}

/** Ceph Pacific's defaults (`ceph-conf -D`). */
export const PACIFIC_MODE_TEXT: Record<MsModeOption, string> = {
  ms_cluster_mode: 'crc secure',
  ms_service_mode: 'crc secure',
  ms_client_mode: 'crc secure',
  ms_mon_cluster_mode: 'secure crc',
  ms_mon_service_mode: 'secure crc',
  ms_mon_client_mode: 'secure crc',
};

const NAMES: Record<string, number> = { crc: ConMode.CRC, secure: ConMode.SECURE };

export function modeName(m: number): string {
  return m === ConMode.CRC ? 'crc' : m === ConMode.SECURE ? 'secure' : `mode ${m}`;
}

/** "secure crc" (or "secure,crc", as Ceph splits on commas, semicolons and blanks) → [2, 1]; an unknown name is an error naming the setting. */
export function parseModeList(text: string, option = 'the connection mode'): number[] {
  const words = text
    .split(/[;,=\s]+/)
    .map((w) => w.trim().toLowerCase())
    .filter(Boolean);
  if (!words.length) throw new ModeError(`${option} is empty: give crc, secure, or both in order of preference ("secure crc")`);
  const out: number[] = [];
  for (const w of words) {
    const m = NAMES[w];
    if (m === undefined) throw new ModeError(`${option}: unknown connection mode '${w}' (crc or secure)`);
    if (!out.includes(m)) out.push(m);
  }
  return out;
}

/**
 * The six settings for `entity`: `overrides` first, then the ceph.conf
 * (the entity's section, its type's, [global]), then Pacific's defaults.
 * Errors name the setting and where it came from.
 */
export function modeSettings(o: { conf?: CephConf; entity?: string; overrides?: Partial<Record<MsModeOption, string>> } = {}): ModeSettings {
  const out = {} as ModeSettings;
  for (const k of MS_MODE_OPTIONS) {
    const over = o.overrides?.[k];
    const fromConf = o.conf?.get(k, o.entity);
    const [text, where] =
      over !== undefined ? [over, `${k} (given)`] : fromConf !== undefined ? [fromConf, `${k} in ${o.conf?.source}`] : [PACIFIC_MODE_TEXT[k], k];
    out[k] = parseModeList(text, where);
  }
  return out;
}

/** Pacific's defaults, parsed. */
export const PACIFIC_MODES: ModeSettings = modeSettings();

/** The same list for all six settings (what `ms_*_mode = secure` everywhere means). */
export function uniformModes(text: string): ModeSettings {
  return Object.fromEntries(MS_MODE_OPTIONS.map((k) => [k, parseModeList(text, k)])) as ModeSettings;
}

const isMonOrMgr = (t: number) => t === EntityType.MON || t === EntityType.MGR;

/** Which setting governs a connection between us (`me`) and `peer` (entity types), as AuthRegistry::get_supported_methods says. */
export function governingOption(me: number, peer: number): MsModeOption {
  if (me === EntityType.CLIENT) return isMonOrMgr(peer) ? 'ms_mon_client_mode' : 'ms_client_mode';
  if (isMonOrMgr(me)) return isMonOrMgr(peer) ? 'ms_mon_cluster_mode' : 'ms_mon_service_mode';
  if (isMonOrMgr(peer)) return 'ms_mon_cluster_mode';
  return peer === EntityType.OSD || peer === EntityType.MDS ? 'ms_cluster_mode' : 'ms_service_mode';
}

/**
 * The modes we offer (connecting) or accept (accepting) on a connection
 * between `me` and `peer` authenticated with `method`, in our order of
 * preference, and the setting they come from.
 */
export function modesFor(settings: ModeSettings, me: number, peer: number, method: number = AuthMethod.CEPHX): { option: MsModeOption; modes: number[] } {
  const option = governingOption(me, peer);
  const list = settings[option];
  // auth none has no secret to encrypt with: crc only (AuthRegistry::get_supported_modes)
  return { option, modes: method === AuthMethod.NONE ? list.filter((m) => m === ConMode.CRC) : [...list] };
}

/** The accepting side's choice: the first of the peer's preferred modes it allows (AuthRegistry::pick_mode). */
export function pickMode(allowed: number[], preferred: number[]): number | undefined {
  return preferred.find((m) => allowed.includes(m));
}
