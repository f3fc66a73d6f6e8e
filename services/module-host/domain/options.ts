// Module options: declared by each module (MODULE_OPTIONS, plus Ceph's
// implicit log_level), stored as strings under config/mgr/<module>/<key>,
// converted to their declared type when read, validated when written.
import type { OptionDeclaration } from './protocol';

export const IMPLICIT_OPTIONS: OptionDeclaration[] = [
  {
    name: 'log_level',
    type: 'str',
    default: '',
    enum_allowed: ['', 'debug', 'info', 'warning', 'error', 'critical'],
    desc: "the module's log level ('' follows the host)",
    runtime: true,
  },
];

export class OptionError extends Error {}

export function optionKey(module: string, key: string): string {
  return `config/mgr/${module}/${key}`;
}

export function declaredOptions(declared: OptionDeclaration[]): Map<string, OptionDeclaration> {
  const m = new Map<string, OptionDeclaration>();
  for (const o of [...IMPLICIT_OPTIONS, ...declared]) m.set(o.name, o);
  return m;
}

const INTEGER_TYPES = new Set(['int', 'uint', 'secs', 'size']);

/** Converts a stored string (or a written value) to the option's type, or throws why not. */
export function convertOption(module: string, opt: OptionDeclaration, value: unknown): unknown {
  const where = `option '${opt.name}' of module '${module}'`;
  const text = typeof value === 'string' ? value.trim() : value;
  let out: unknown;
  if (INTEGER_TYPES.has(opt.type)) {
    const n = typeof text === 'number' ? text : typeof text === 'string' && /^-?\d+$/.test(text) ? Number(text) : NaN;
    if (!Number.isSafeInteger(n)) throw new OptionError(`${where} must be a whole number (type ${opt.type}), got ${JSON.stringify(value)}`);
    if (opt.type !== 'int' && n < 0) throw new OptionError(`${where} must not be negative (type ${opt.type}), got ${n}`);
    out = n;
  } else if (opt.type === 'float') {
    const n = typeof text === 'number' ? text : typeof text === 'string' && text !== '' ? Number(text) : NaN;
    if (!Number.isFinite(n)) throw new OptionError(`${where} must be a number, got ${JSON.stringify(value)}`);
    out = n;
  } else if (opt.type === 'bool') {
    if (text === true || text === 'true' || text === '1' || text === 'yes' || text === 'on') out = true;
    else if (text === false || text === 'false' || text === '0' || text === 'no' || text === 'off') out = false;
    else throw new OptionError(`${where} must be true or false, got ${JSON.stringify(value)}`);
  } else {
    if (typeof value !== 'string' && typeof value !== 'number') throw new OptionError(`${where} must be a string, got ${JSON.stringify(value)}`);
    out = String(value);
  }
  if (typeof out === 'number') {
    if (opt.min !== undefined && out < opt.min) throw new OptionError(`${where} must be at least ${opt.min}, got ${out}`);
    if (opt.max !== undefined && out > opt.max) throw new OptionError(`${where} must be at most ${opt.max}, got ${out}`);
  }
  if (opt.enum_allowed?.length && !opt.enum_allowed.includes(String(out))) {
    throw new OptionError(`${where} must be one of ${opt.enum_allowed.map((v) => `'${v}'`).join(', ')}, got ${JSON.stringify(value)}`);
  }
  return out;
}

export function unknownOption(module: string, key: string, known: Map<string, OptionDeclaration>): OptionError {
  return new OptionError(`module '${module}' has no option '${key}' (its options: ${[...known.keys()].join(', ')})`);
}
