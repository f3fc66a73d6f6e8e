// Structured logs: one JSON object per line on stderr, so stdout stays free
// for what a command prints. The level comes from MGR_LOG_LEVEL.
import * as fs from 'fs';

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
const ORDER: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

export interface Logger {
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
  child(fields: Record<string, unknown>): Logger;
  level: LogLevel;
}

export function parseLogLevel(value: string | undefined, fallback: LogLevel = 'info'): LogLevel {
  const v = (value ?? '').toLowerCase();
  return v in ORDER ? (v as LogLevel) : fallback;
}

// stderr is written once per turn of the event loop, not once per line: a
// pipe's write is synchronous on Linux, and a call's log lines then go out
// after its answer rather than before it. Lines still waiting when the
// process exits are written then.
let pending: string[] = [];
let flushing = false;

function flushStderr(): void {
  flushing = false;
  if (!pending.length) return;
  const text = pending.join('');
  pending = [];
  process.stderr.write(text);
}

/** Log lines to stderr, batched per event-loop turn (the default sink). */
export function stderrSink(line: string): void {
  pending.push(line + '\n');
  if (flushing) return;
  flushing = true;
  setImmediate(flushStderr);
}

process.on('exit', () => {
  if (!pending.length) return;
  try {
    fs.writeSync(2, pending.join(''));
  } catch {
    /* stderr is gone: nothing left to tell */
  }
  pending = [];
});

export function createLogger(
  base: Record<string, unknown>,
  level: LogLevel = parseLogLevel(process.env.MGR_LOG_LEVEL),
  sink: (line: string) => void = stderrSink,
): Logger {
  const emit = (lvl: LogLevel, msg: string, fields?: Record<string, unknown>) => {
    if (ORDER[lvl] < ORDER[logger.level]) return;
    const rec: Record<string, unknown> = { time: new Date().toISOString(), level: lvl, ...base, msg };
    if (fields) {
      for (const [k, v] of Object.entries(fields)) rec[k] = v instanceof Error ? v.message : v;
    }
    sink(JSON.stringify(rec));
  };
  const logger: Logger = {
    level,
    debug: (m, f) => emit('debug', m, f),
    info: (m, f) => emit('info', m, f),
    warn: (m, f) => emit('warn', m, f),
    error: (m, f) => emit('error', m, f),
    child: (fields) => createLogger({ ...base, ...fields }, logger.level, sink),
  };
  return logger;
}
