// ceph.conf and mon_host, read the way Ceph reads them (src/common/ConfUtils.cc,
// src/mon/MonMap.cc), for the parts a client needs: sections, `key = value`,
// metavariables, and every form of mon_host Ceph accepts.
//
//   const conf = readCephConf('/etc/ceph/ceph.conf');
//   conf.get('mon_host', 'client.admin')   // [client.admin], then [client], then [global]
//   monitorsForClient(conf.get('mon_host')) // [{ host: '10.0.0.1', port: 3300 }, ...]
//
// Keys: Ceph treats spaces, underscores (and, on its command line, dashes)
// in option names alike, so `mon host`, `mon_host` and `mon-host` are one
// key; they are stored with underscores. Comments start with `#` or `;`
// (whole lines, or after a value outside quotes); a value may be quoted
// ("..." with \" and \\ escapes) and a line ending in `\` continues on the
// next one.
import * as fs from 'fs';
import * as os from 'os';

export class CephConfError extends Error {}

/** Bounds for a file we read from an operator: nothing legitimate comes close. */
const MAX_CONF_BYTES = 4 << 20;
const MAX_MON_HOST_ENTRIES = 64;

export interface CephConf {
  /** The file (or "ceph.conf") the text came from, for messages. */
  readonly source: string;
  /** Sections in file order, keys normalised (underscores), values as written (unquoted). */
  readonly sections: ReadonlyMap<string, ReadonlyMap<string, string>>;
  /**
   * The value of `key` for `entity` (e.g. client.admin): its own section,
   * then its type's ([client]), then [global]; metavariables expanded
   * ($cluster, $type, $id, $name, $host).
   */
  get(key: string, entity?: string, cluster?: string): string | undefined;
}

/** `mon host`, `mon-host` and `mon_host` are one key. */
export function normalizeKey(key: string): string {
  return key.trim().replace(/[\s_-]+/g, '_');
}

/** Parses ceph.conf text; errors name the source and the line. */
export function parseCephConf(text: string, source = 'ceph.conf'): CephConf {
  if (text.length > MAX_CONF_BYTES) throw new CephConfError(`${source} is larger than ${MAX_CONF_BYTES} bytes; not a ceph.conf`);
  const sections = new Map<string, Map<string, string>>();
  let current: Map<string, string> | undefined;
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const lineNo = i + 1;
    let line = lines[i];
    // a trailing backslash joins the next line
    while (/\\$/.test(line) && i + 1 < lines.length) line = line.slice(0, -1) + lines[++i];
    const s = line.trim();
    if (!s || s.startsWith('#') || s.startsWith(';')) continue;
    const where = `${source}:${lineNo}`;
    if (s.startsWith('[')) {
      const m = /^\[([^\]]*)\]\s*(?:[#;].*)?$/.exec(s);
      if (!m || !m[1].trim()) throw new CephConfError(`${where}: cannot read the section header '${s}'`);
      const name = m[1].trim();
      current = sections.get(name) ?? new Map<string, string>();
      sections.set(name, current);
      continue;
    }
    const eq = s.indexOf('=');
    if (eq <= 0) throw new CephConfError(`${where}: expected 'key = value', got '${s}'`);
    if (!current) throw new CephConfError(`${where}: '${s}' is outside any section (start with [global])`);
    const key = normalizeKey(s.slice(0, eq));
    current.set(key, parseValue(s.slice(eq + 1), where));
  }
  return {
    source,
    sections,
    get(key: string, entity = 'client.admin', cluster = 'ceph') {
      const k = normalizeKey(key);
      const dot = entity.indexOf('.');
      const type = dot > 0 ? entity.slice(0, dot) : entity;
      for (const section of [entity, type, 'global']) {
        const v = sections.get(section)?.get(k);
        if (v !== undefined) return expandMetavariables(v, entity, cluster);
      }
      return undefined;
    },
  };
}

/** Reads and parses a ceph.conf file; a missing or unreadable file is a CephConfError naming it. */
export function readCephConf(file: string): CephConf {
  let text: string;
  try {
    const st = fs.statSync(file);
    if (!st.isFile()) throw new Error('not a regular file');
    if (st.size > MAX_CONF_BYTES) throw new Error(`larger than ${MAX_CONF_BYTES} bytes`);
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    throw new CephConfError(`cannot read the Ceph configuration ${file}: ${(e as Error).message}`);
  }
  return parseCephConf(text, file);
}

function parseValue(raw: string, where: string): string {
  const v = raw.trim();
  if (v.startsWith('"')) {
    let out = '';
    for (let i = 1; i < v.length; i++) {
      const c = v[i];
      if (c === '\\' && i + 1 < v.length) out += v[++i];
      else if (c === '"') {
        const rest = v.slice(i + 1).trim();
        if (rest && !rest.startsWith('#') && !rest.startsWith(';')) throw new CephConfError(`${where}: text after the closing quote: '${rest}'`);
        return out;
      } else out += c;
    }
    throw new CephConfError(`${where}: the quoted value has no closing quote`);
  }
  // an unquoted value ends at a comment
  const cut = v.search(/[#;]/);
  return (cut >= 0 ? v.slice(0, cut) : v).trim();
}

function expandMetavariables(value: string, entity: string, cluster: string): string {
  const dot = entity.indexOf('.');
  const vars: Record<string, string> = {
    cluster,
    type: dot > 0 ? entity.slice(0, dot) : entity,
    id: dot > 0 ? entity.slice(dot + 1) : '',
    name: entity,
    host: os.hostname().split('.')[0],
  };
  return value.replace(/\$(cluster|type|id|name|host)\b|\$\{(cluster|type|id|name|host)\}/g, (_, a, b) => vars[a ?? b]);
}

// ------------------------------------------------------------------ mon_host

/** Ceph's monitor ports: IANA's msgr2 port and the legacy (v1) one. */
export const MON_PORT_V2 = 3300;
export const MON_PORT_V1 = 6789;

export interface HostPort {
  /** An IPv4 or IPv6 address (no brackets) or a DNS name. */
  host: string;
  port: number;
}

/** One monitor as mon_host names it: its msgr2 and/or legacy address. */
export interface MonHostEntry {
  /** The text it was read from. */
  text: string;
  v2?: HostPort;
  v1?: HostPort;
}

/**
 * Parses mon_host in every form Ceph accepts, separated by commas, spaces or
 * semicolons:
 *  - addrvecs `[v2:1.2.3.4:3300,v1:1.2.3.4:6789]` (one monitor each);
 *  - typed addresses `v2:1.2.3.4:3300`, `v1:1.2.3.4:6789` (port optional);
 *  - plain `host:port`: port 6789 is the legacy protocol, any other msgr2;
 *  - plain `host`: both, on 3300 (v2) and 6789 (v1);
 *  - IPv6 in brackets, `[::1]:3300` or `v2:[::1]:3300`; DNS names, kept
 *    as names (resolved when connecting).
 * (Ceph's rules for ambiguous addresses: MonMap::_add_ambiguous_addr.)
 */
export function parseMonHost(monHost: string): MonHostEntry[] {
  const text = monHost.trim();
  if (!text) throw new CephConfError('mon_host is empty: name the monitors, e.g. mon_host = [v2:10.0.0.1:3300,v1:10.0.0.1:6789]');
  const out: MonHostEntry[] = [];
  let i = 0;
  const sep = (c: string) => c === ',' || c === ';' || /\s/.test(c);
  while (i < text.length) {
    while (i < text.length && sep(text[i])) i++;
    if (i >= text.length) break;
    if (out.length >= MAX_MON_HOST_ENTRIES) throw new CephConfError(`mon_host names more than ${MAX_MON_HOST_ENTRIES} monitors`);
    let end: number;
    let entry: MonHostEntry;
    if (text[i] === '[' && /^\[\s*(v1|v2|any):/i.test(text.slice(i))) {
      // an addrvec: [v2:...,v1:...]; an IPv6 member ([v2:[::1]:3300,...]) has brackets of its own
      let depth = 0;
      for (end = i; end < text.length; end++) {
        if (text[end] === '[') depth++;
        else if (text[end] === ']' && --depth === 0) break;
      }
      if (end >= text.length) throw new CephConfError(`mon_host: the address vector '${text.slice(i)}' has no closing ']'`);
      const inner = text.slice(i + 1, end);
      entry = { text: text.slice(i, end + 1) };
      for (const part of splitTop(inner)) {
        const a = parseTyped(part, entry.text);
        if (a.type === 'v2') entry.v2 ??= a.addr;
        else entry.v1 ??= a.addr;
      }
      end++;
    } else {
      end = i;
      let depth = 0;
      while (end < text.length && (depth > 0 || !sep(text[end]))) {
        if (text[end] === '[') depth++;
        else if (text[end] === ']') depth--;
        end++;
      }
      const token = text.slice(i, end);
      entry = { text: token };
      if (/^(v1|v2|any):/i.test(token)) {
        const a = parseTyped(token, token);
        if (a.type === 'v2') entry.v2 = a.addr;
        else entry.v1 = a.addr;
      } else {
        const { host, port } = splitHostPort(token, token);
        if (port === undefined) {
          entry.v2 = { host, port: MON_PORT_V2 };
          entry.v1 = { host, port: MON_PORT_V1 };
        } else if (port === MON_PORT_V1) entry.v1 = { host, port };
        else entry.v2 = { host, port };
      }
    }
    out.push(entry);
    i = end;
  }
  if (!out.length) throw new CephConfError(`mon_host '${monHost}' names no monitor`);
  return out;
}

/**
 * The msgr2 addresses of the monitors mon_host names: what mgrpc connects
 * to. A mon_host with only legacy (v1) addresses is refused with an error
 * that says so.
 */
export function monitorsForClient(monHost: string | undefined, source = 'mon_host'): HostPort[] {
  if (monHost === undefined)
    throw new CephConfError(`${source}: no mon_host is set; mgrpc needs the monitors' addresses (mon_host = [v2:<ip>:3300,v1:<ip>:6789])`);
  const entries = parseMonHost(monHost);
  const v2 = entries.filter((e) => e.v2).map((e) => e.v2!);
  if (!v2.length) {
    throw new CephConfError(
      `${source}: mon_host '${monHost}' lists only msgr v1 (legacy) addresses (${entries.map((e) => e.text).join(', ')}); ` +
        `mgrpc speaks msgr2 only: give the monitors' v2 addresses (port ${MON_PORT_V2} by default), e.g. [v2:<ip>:${MON_PORT_V2},v1:<ip>:${MON_PORT_V1}]`,
    );
  }
  // one entry per address: several forms may name the same monitor
  const seen = new Set<string>();
  return v2.filter((a) => {
    const k = `${a.host}|${a.port}`;
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}

/** The monitors of a ceph.conf for `entity` (mon_host of its sections). */
export function monitorsFromConf(conf: CephConf, entity = 'client.admin'): HostPort[] {
  return monitorsForClient(conf.get('mon_host', entity), conf.source);
}

/** Splits "a,b" at top-level commas (an IPv6 member keeps its brackets). */
function splitTop(s: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < s.length; i++) {
    if (s[i] === '[') depth++;
    else if (s[i] === ']') depth--;
    else if (depth === 0 && (s[i] === ',' || s[i] === ' ')) {
      if (s.slice(start, i).trim()) parts.push(s.slice(start, i).trim());
      start = i + 1;
    }
  }
  if (s.slice(start).trim()) parts.push(s.slice(start).trim());
  return parts;
}

/** `v2:host:port/nonce` (port and nonce optional) -> its type and address. */
function parseTyped(part: string, context: string): { type: 'v1' | 'v2'; addr: HostPort } {
  const m = /^(v1|v2|any):(.*)$/i.exec(part.trim());
  if (!m) throw new CephConfError(`mon_host: '${part}' in '${context}' is not a typed address (v2:<ip>:<port> or v1:<ip>:<port>)`);
  const rest = m[2].replace(/\/\d+$/, ''); // a nonce, as monmaps print them
  const { host, port } = splitHostPort(rest, context);
  const kind = m[1].toLowerCase();
  // "any:" with the legacy port is legacy; otherwise msgr2, as for an untyped address
  const type: 'v1' | 'v2' = kind === 'v1' || (kind === 'any' && port === MON_PORT_V1) ? 'v1' : 'v2';
  return { type, addr: { host, port: port ?? (type === 'v2' ? MON_PORT_V2 : MON_PORT_V1) } };
}

function splitHostPort(s: string, context: string): { host: string; port?: number } {
  let host: string;
  let portText: string | undefined;
  if (s.startsWith('[')) {
    const close = s.indexOf(']');
    if (close < 0) throw new CephConfError(`mon_host: '${s}' in '${context}' opens an IPv6 bracket it does not close`);
    host = s.slice(1, close);
    const after = s.slice(close + 1);
    if (after && !after.startsWith(':')) throw new CephConfError(`mon_host: unexpected '${after}' after the IPv6 address in '${context}'`);
    portText = after ? after.slice(1) : undefined;
  } else if ((s.match(/:/g) ?? []).length > 1) {
    host = s; // a bare IPv6 address; a port needs brackets
  } else {
    const c = s.lastIndexOf(':');
    host = c >= 0 ? s.slice(0, c) : s;
    portText = c >= 0 ? s.slice(c + 1) : undefined;
  }
  if (!host || !/^[A-Za-z0-9.\-:%_]+$/.test(host)) throw new CephConfError(`mon_host: '${host}' in '${context}' is not a host name or IP address`);
  // no port, or port 0 as monmaps print unset ones: the default of the address's type
  if (portText === undefined || portText === '' || portText === '0') return { host };
  if (!/^\d{1,5}$/.test(portText) || Number(portText) > 65535) {
    throw new CephConfError(`mon_host: port '${portText}' in '${context}' is not a port number (1-65535)`);
  }
  return { host, port: Number(portText) };
}
