// Ceph command descriptors ("pg ls name=pool,type=CephInt,req=false ...")
// and argument validation with the messages ceph_argparse.py gives. Shared
// by the server (validates Command args) and mgrctl (maps words to names).

export type ArgType =
  | 'CephString'
  | 'CephInt'
  | 'CephFloat'
  | 'CephBool'
  | 'CephChoices'
  | 'CephName'
  | 'CephOsdName'
  | 'CephPoolname'
  | 'CephObjectname'
  | 'CephPgid'
  | 'CephEntityAddr'
  | 'CephUUID'
  | 'CephPrefix'
  | 'CephFilepath'
  | 'CephFragment';

const KNOWN_TYPES = new Set<string>([
  'CephString',
  'CephInt',
  'CephFloat',
  'CephBool',
  'CephChoices',
  'CephName',
  'CephOsdName',
  'CephPoolname',
  'CephObjectname',
  'CephPgid',
  'CephEntityAddr',
  'CephUUID',
  'CephPrefix',
  'CephFilepath',
  'CephFragment',
]);

export interface ArgSpec {
  name: string;
  type: ArgType;
  required: boolean;
  /** n=N: a list of one or more values. */
  list: boolean;
  /** CephInt/CephFloat range=a|b (one number: minimum only). */
  range?: [number, number?];
  /** CephChoices strings=a|b. */
  strings?: string[];
  /** CephString goodchars=[...] (a regex character class). */
  goodchars?: string;
}

export interface CommandSignature {
  /** The prefix words, e.g. ["pg", "ls"]. */
  words: string[];
  prefix: string;
  args: ArgSpec[];
}

export class DescriptorError extends Error {}

/** Parses Ceph's descriptor syntax; throws DescriptorError when malformed. */
export function parseSignature(cmd: string): CommandSignature {
  const words: string[] = [];
  const args: ArgSpec[] = [];
  for (const token of cmd.trim().split(/\s+/).filter(Boolean)) {
    if (!token.includes('=')) {
      if (args.length) throw new DescriptorError(`'${cmd}': prefix word '${token}' after an argument`);
      words.push(token);
      continue;
    }
    const kv: Record<string, string> = {};
    for (const part of token.split(',')) {
      const eq = part.indexOf('=');
      if (eq < 0) kv[part] = '';
      else kv[part.slice(0, eq)] = part.slice(eq + 1);
    }
    if (!kv.name) throw new DescriptorError(`'${cmd}': argument without a name in '${token}'`);
    const type = kv.type || 'CephString';
    if (!KNOWN_TYPES.has(type)) throw new DescriptorError(`'${cmd}': unknown argument type '${type}'`);
    const spec: ArgSpec = { name: kv.name, type: type as ArgType, required: kv.req !== 'false', list: kv.n === 'N' };
    if (kv.range !== undefined) {
      const [lo, hi] = kv.range.split('|').map(Number);
      spec.range = [lo, hi === undefined || Number.isNaN(hi) ? undefined : hi];
    }
    if (kv.strings !== undefined) spec.strings = kv.strings.split('|');
    if (kv.goodchars !== undefined) spec.goodchars = kv.goodchars;
    args.push(spec);
  }
  if (!words.length) throw new DescriptorError(`'${cmd}': no prefix words`);
  return { words, prefix: words.join(' '), args };
}

/** The one-line usage Ceph prints: "pg ls [<pool:int>] [<states>...]". */
export function usage(sig: CommandSignature): string {
  const parts = sig.args.map((a) => {
    let s: string;
    if (a.type === 'CephChoices' && a.strings) s = a.strings.join('|');
    else s = `<${a.name}${typeSuffix(a.type)}>`;
    if (a.list) s += '...';
    return a.required ? s : `[${s}]`;
  });
  return [sig.prefix, ...parts].join(' ');
}

function typeSuffix(t: ArgType): string {
  switch (t) {
    case 'CephInt':
      return ':int';
    case 'CephFloat':
      return ':float';
    case 'CephBool':
      return ':bool';
    default:
      return '';
  }
}

export class ArgumentError extends Error {}

/**
 * Arguments every command accepts besides its own (the CLI adds them;
 * `poll: true` to each request of a command whose descriptor has Ceph's
 * FLAG_POLL, such as `iostat`). Only `format` reaches the handler.
 */
export const GLOBAL_ARGS = new Set(['prefix', 'format', 'target', 'poll']);

/**
 * Checks `args` against the signature and returns them with typed values
 * (CephInt as numbers, CephBool as booleans, lists as arrays). Throws
 * ArgumentError with ceph_argparse's wording.
 */
export function validateArgs(sig: CommandSignature, args: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const known = new Set(sig.args.map((a) => a.name));
  const unused = Object.keys(args).filter((k) => !known.has(k) && !GLOBAL_ARGS.has(k));
  if (unused.length) throw new ArgumentError(`unused arguments: ${JSON.stringify(unused)}`);
  if (args.format !== undefined) {
    if (typeof args.format !== 'string' || !['plain', 'json', 'json-pretty', 'xml', 'xml-pretty'].includes(args.format)) {
      throw new ArgumentError(`format: ${JSON.stringify(args.format)} not in plain|json|json-pretty|xml|xml-pretty`);
    }
    out.format = args.format;
  }
  for (const spec of sig.args) {
    const raw = args[spec.name];
    if (raw === undefined || raw === null) {
      if (spec.required) throw new ArgumentError(`missing required parameter ${spec.name}(${describeType(spec)})`);
      continue;
    }
    if (spec.list) {
      const items = Array.isArray(raw) ? raw : [raw];
      if (items.length === 0 && spec.required) throw new ArgumentError(`missing required parameter ${spec.name}(${describeType(spec)})`);
      out[spec.name] = items.map((v) => checkValue(spec, v));
    } else {
      if (Array.isArray(raw)) throw new ArgumentError(`${spec.name}: expected one value, got a list ${JSON.stringify(raw)}`);
      out[spec.name] = checkValue(spec, raw);
    }
  }
  return out;
}

function describeType(spec: ArgSpec): string {
  if (spec.type === 'CephChoices' && spec.strings) return spec.strings.join('|');
  return `<${spec.name}${typeSuffix(spec.type)}>`;
}

function scalarText(spec: ArgSpec, v: unknown): string {
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  throw new ArgumentError(`${spec.name}: ${JSON.stringify(v)} is not a ${spec.type} value`);
}

function checkRange(spec: ArgSpec, n: number): void {
  if (!spec.range) return;
  const [lo, hi] = spec.range;
  if (n < lo || (hi !== undefined && n > hi)) {
    throw new ArgumentError(`${spec.name}: ${n} not in range [${lo}${hi !== undefined ? `, ${hi}` : ''}]`);
  }
}

function checkValue(spec: ArgSpec, v: unknown): unknown {
  switch (spec.type) {
    case 'CephInt': {
      const s = scalarText(spec, v).trim();
      if (typeof v === 'boolean' || !/^[-+]?\d+$/.test(s)) throw new ArgumentError(`${spec.name}: ${s} doesn't represent an int`);
      const n = Number(s);
      if (!Number.isSafeInteger(n)) throw new ArgumentError(`${spec.name}: ${s} doesn't represent an int`);
      checkRange(spec, n);
      return n;
    }
    case 'CephFloat': {
      const s = scalarText(spec, v).trim();
      const n = Number(s);
      if (typeof v === 'boolean' || s === '' || !Number.isFinite(n)) throw new ArgumentError(`${spec.name}: ${s} doesn't represent a float`);
      checkRange(spec, n);
      return n;
    }
    case 'CephBool': {
      if (typeof v === 'boolean') return v;
      const s = scalarText(spec, v).toLowerCase();
      if (s === 'true' || s === '1') return true;
      if (s === 'false' || s === '0') return false;
      throw new ArgumentError(`${spec.name}: ${s} not one of 'true', 'false'`);
    }
    case 'CephChoices': {
      const s = scalarText(spec, v);
      if (!spec.strings?.includes(s)) throw new ArgumentError(`${spec.name}: ${s} not in ${(spec.strings ?? []).join('|')}`);
      return s;
    }
    case 'CephName': {
      const s = scalarText(spec, v);
      if (s === '*') return s;
      const dot = s.indexOf('.');
      if (dot < 0) throw new ArgumentError(`${spec.name}: CephName: no . in ${s}`);
      const [t, id] = [s.slice(0, dot), s.slice(dot + 1)];
      if (!['osd', 'mon', 'client', 'mds', 'mgr'].includes(t)) throw new ArgumentError(`${spec.name}: unknown type ${t}`);
      if (!id) throw new ArgumentError(`${spec.name}: CephName: empty id in ${s}`);
      if (t === 'osd' && id !== '*' && !/^\d+$/.test(id)) throw new ArgumentError(`${spec.name}: osd id ${id} not integer`);
      return s;
    }
    case 'CephOsdName': {
      const s = scalarText(spec, v);
      const id = s.startsWith('osd.') ? s.slice(4) : s;
      if (!/^-?\d+$/.test(id)) throw new ArgumentError(`${spec.name}: osd id ${id} not integer`);
      if (Number(id) < 0) throw new ArgumentError(`${spec.name}: osd id ${id} is less than 0`);
      return Number(id);
    }
    case 'CephPgid': {
      const s = scalarText(spec, v);
      const dot = s.indexOf('.');
      if (dot < 0) throw new ArgumentError(`${spec.name}: pgid has no .`);
      const pool = s.slice(0, dot);
      const seed = s.slice(dot + 1);
      if (!/^-?\d+$/.test(pool)) throw new ArgumentError(`${spec.name}: pool ${pool} not integer`);
      if (Number(pool) < 0) throw new ArgumentError(`${spec.name}: pool ${pool} < 0`);
      if (!/^[0-9a-fA-F]+$/.test(seed)) throw new ArgumentError(`${spec.name}: pgnum ${seed} not hex integer`);
      return s;
    }
    case 'CephPoolname': {
      const s = scalarText(spec, v);
      if (s === '') throw new ArgumentError(`${spec.name}: empty pool name`);
      return s;
    }
    case 'CephUUID': {
      const s = scalarText(spec, v);
      if (!/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(s)) throw new ArgumentError(`${spec.name}: invalid UUID ${s}`);
      return s;
    }
    default: {
      const s = scalarText(spec, v);
      if (spec.goodchars) {
        const re = new RegExp(`^${spec.goodchars}*$`);
        if (!re.test(s)) throw new ArgumentError(`${spec.name}: string ${s} contains invalid characters (allowed: ${spec.goodchars})`);
      }
      return s;
    }
  }
}
