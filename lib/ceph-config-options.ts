// Ceph Pacific 16.2.15's configuration options: the table compiled into
// every Ceph daemon (src/common/options.cc), as a manager module reads it
// with get('config_options') (ceph-config-options.json is that answer from a
// real 16.2.15 manager, one option per line). The manager's get_ceph_option
// converts an option's value to a Python type by the option's type; the
// same conversion is here.
import * as fs from 'fs';
import * as path from 'path';

export interface CephConfigOption {
  name: string;
  type: 'str' | 'int' | 'uint' | 'size' | 'secs' | 'millisecs' | 'float' | 'bool' | 'addr' | 'addrvec' | 'uuid';
  level: string;
  desc: string;
  long_desc: string;
  default: unknown;
  daemon_default: unknown;
  tags: string[];
  services: string[];
  see_also: string[];
  enum_values?: string[];
  min: unknown;
  max: unknown;
  can_update_at_runtime: boolean;
  flags: string[];
}

const FILE = path.join(__dirname, 'ceph-config-options.json');

let text: string | undefined;
let byName: Map<string, CephConfigOption> | undefined;

/** get('config_options') as ceph-mgr answers it: `{"options": [...]}`, the JSON text. */
export function configOptionsJson(): string {
  return (text ??= fs.readFileSync(FILE, 'utf8'));
}

/** One option's schema, or undefined for a name Ceph does not know. */
export function configOption(name: string): CephConfigOption | undefined {
  if (!byName) {
    const parsed = JSON.parse(configOptionsJson()) as { options: CephConfigOption[] };
    byName = new Map(parsed.options.map((o) => [o.name, o]));
  }
  return byName.get(name);
}

/**
 * A value as ceph-mgr hands it to Python (get_python_typed_option_value):
 * integers for int/uint/size, floats for secs/millisecs/float, a bool for
 * bool ("1", "true", "True", "on", "yes"), the string otherwise (and when a
 * number does not parse).
 */
export function typedOptionValue(type: string, value: string): unknown {
  switch (type) {
    case 'int':
    case 'uint':
    case 'size': {
      const t = value.trim();
      return /^[-+]?\d+$/.test(t) ? Number(t) : value;
    }
    case 'secs':
    case 'millisecs':
    case 'float': {
      const n = Number(value.trim());
      return value.trim() !== '' && Number.isFinite(n) ? n : value;
    }
    case 'bool':
      return ['1', 'true', 'True', 'on', 'yes'].includes(value.trim());
    default:
      return value;
  }
}
