// Configuration: every setting has an environment variable and a flag that
// overrides it. Each service declares its table once; `--help` prints it and
// the README's configuration table mirrors it.

export type OptionType = 'string' | 'int' | 'float' | 'bool';

export interface OptionSpec {
  /** Environment variable, e.g. MGR_CLUSTER_STATE_PORT. */
  env: string;
  /** Flag without dashes, e.g. "port". */
  flag: string;
  type: OptionType;
  default: string | number | boolean;
  desc: string;
}

export type OptionTable = Record<string, OptionSpec>;
export type ConfigOf<T extends OptionTable> = {
  [K in keyof T]: T[K]['type'] extends 'string' ? string : T[K]['type'] extends 'bool' ? boolean : number;
};

export class ConfigError extends Error {}

function convert(spec: OptionSpec, raw: string, from: string): string | number | boolean {
  switch (spec.type) {
    case 'string':
      return raw;
    case 'bool': {
      const v = raw.toLowerCase();
      if (['1', 'true', 'yes', 'on'].includes(v)) return true;
      if (['0', 'false', 'no', 'off'].includes(v)) return false;
      throw new ConfigError(`${from}: expected true or false, got '${raw}'`);
    }
    case 'int': {
      if (!/^-?\d+$/.test(raw.trim())) throw new ConfigError(`${from}: expected a whole number, got '${raw}'`);
      return parseInt(raw, 10);
    }
    case 'float': {
      const n = Number(raw);
      if (raw.trim() === '' || !Number.isFinite(n)) throw new ConfigError(`${from}: expected a number, got '${raw}'`);
      return n;
    }
  }
}

/** Reads the table from env, then flags (`--flag value` or `--flag=value`). */
export function loadConfig<T extends OptionTable>(table: T, argv: string[] = process.argv.slice(2), env: NodeJS.ProcessEnv = process.env): ConfigOf<T> {
  const out: Record<string, unknown> = {};
  const byFlag = new Map<string, [string, OptionSpec]>();
  for (const [key, spec] of Object.entries(table)) {
    byFlag.set(spec.flag, [key, spec]);
    const raw = env[spec.env];
    out[key] = raw !== undefined && raw !== '' ? convert(spec, raw, spec.env) : spec.default;
  }
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (!arg.startsWith('--')) throw new ConfigError(`unexpected argument '${arg}' (see --help)`);
    let name = arg.slice(2);
    let value: string | undefined;
    const eq = name.indexOf('=');
    if (eq >= 0) {
      value = name.slice(eq + 1);
      name = name.slice(0, eq);
    }
    const hit = byFlag.get(name);
    if (!hit) throw new ConfigError(`unknown flag --${name} (see --help)`);
    const [key, spec] = hit;
    if (value === undefined) {
      if (spec.type === 'bool' && (i + 1 >= argv.length || argv[i + 1].startsWith('--'))) value = 'true';
      else if (i + 1 < argv.length) value = argv[++i];
      else throw new ConfigError(`--${name} needs a value`);
    }
    out[key] = convert(spec, value, `--${name}`);
  }
  return out as ConfigOf<T>;
}

export function helpText(title: string, table: OptionTable): string {
  const rows = Object.values(table).map((s) => `  --${s.flag.padEnd(24)} ${s.env.padEnd(34)} ${s.desc} (default: ${JSON.stringify(s.default)})`);
  return `${title}\n\nOptions (flag, environment variable, meaning):\n${rows.join('\n')}\n`;
}

/** Parses config or prints help / the error and exits: for main.ts files. */
export function configOrExit<T extends OptionTable>(title: string, table: T): ConfigOf<T> {
  const argv = process.argv.slice(2);
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(helpText(title, table));
    process.exit(0);
  }
  try {
    return loadConfig(table, argv);
  } catch (e) {
    process.stderr.write(`${(e as Error).message}\n`);
    process.exit(2);
  }
}

/** Options every gRPC service shares. */
export const COMMON_OPTIONS = {
  host: { env: 'MGR_HOST', flag: 'host', type: 'string', default: '127.0.0.1', desc: 'address to listen on' },
  metricsPort: { env: 'MGR_METRICS_PORT', flag: 'metrics-port', type: 'int', default: 0, desc: 'Prometheus metrics HTTP port (0: pick a free one, -1: off)' },
  maxMessageBytes: { env: 'MGR_MAX_MESSAGE_BYTES', flag: 'max-message-bytes', type: 'int', default: 64 * 1024 * 1024, desc: 'largest gRPC message accepted' },
  shutdownGraceMs: {
    env: 'MGR_SHUTDOWN_GRACE_MS',
    flag: 'shutdown-grace-ms',
    type: 'int',
    default: 5000,
    desc: 'how long in-flight calls may finish on SIGTERM',
  },
  tlsCert: { env: 'MGR_TLS_CERT', flag: 'tls-cert', type: 'string', default: '', desc: 'PEM certificate: serve TLS when set' },
  tlsKey: { env: 'MGR_TLS_KEY', flag: 'tls-key', type: 'string', default: '', desc: 'PEM private key for --tls-cert' },
  tlsCa: {
    env: 'MGR_TLS_CA',
    flag: 'tls-ca',
    type: 'string',
    default: '',
    desc: 'PEM CA: trust it for outgoing calls; with --tls-client-auth, require client certificates it signed',
  },
  tlsClientAuth: { env: 'MGR_TLS_CLIENT_AUTH', flag: 'tls-client-auth', type: 'bool', default: false, desc: 'mutual TLS: require client certificates' },
  logLevel: { env: 'MGR_LOG_LEVEL', flag: 'log-level', type: 'string', default: 'info', desc: 'debug, info, warn or error' },
} satisfies OptionTable;

interface TlsConfig {
  tlsCert: string;
  tlsKey: string;
  tlsCa: string;
  tlsClientAuth: boolean;
}

/** The TLS this service serves with (undefined: plaintext). */
export function serverTlsOf(cfg: TlsConfig): { cert: string; key: string; ca?: string; clientAuth: boolean } | undefined {
  return cfg.tlsCert ? { cert: cfg.tlsCert, key: cfg.tlsKey, ca: cfg.tlsCa || undefined, clientAuth: cfg.tlsClientAuth } : undefined;
}

/**
 * The TLS this service uses towards its peers: trust the CA and present its
 * own certificate (needed where peers require client certificates).
 */
export function peerTlsOf(cfg: TlsConfig): { cert?: string; key?: string; ca?: string } | undefined {
  if (!cfg.tlsCa && !cfg.tlsCert) return undefined;
  return { ca: cfg.tlsCa || undefined, cert: cfg.tlsCert || undefined, key: cfg.tlsKey || undefined };
}

/** Who may call this service and who it calls as: the shared keyring (docs/SECURITY.md). */
export const AUTH_OPTIONS = {
  keyring: {
    env: 'MGR_KEYRING',
    flag: 'keyring',
    type: 'string',
    default: './data/keyring',
    desc: 'the shared keyring: callers prove they hold a key of it (created on first start)',
  },
  auth: {
    env: 'MGR_AUTH',
    flag: 'auth',
    type: 'string',
    default: 'keyring',
    desc: "'keyring', or 'none' (development only: no authentication, loopback only)",
  },
} satisfies OptionTable;

/** The keyring to authenticate with, or null for MGR_AUTH=none; exits with a message on another value. */
export function keyringOf(cfg: { keyring: string; auth: string }): string | null {
  if (cfg.auth === 'none') return null;
  if (cfg.auth !== 'keyring') {
    process.stderr.write(`MGR_AUTH: expected 'keyring' or 'none', got '${cfg.auth}'\n`);
    process.exit(2);
  }
  return cfg.keyring;
}
