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

// stderr is written in batches, not once per line: a pipe's write is
// synchronous and wakes its reader, which on a busy machine takes the CPU
// from the call being answered. Lines wait at most FLUSH_MS (or until
// FLUSH_BYTES are waiting), as Ceph's own log is written by a thread of its
// own; lines still waiting when the process exits are written then.
const FLUSH_MS = 50;
const FLUSH_BYTES = 64 * 1024;
let pending: string[] = [];
let pendingBytes = 0;
let timer: NodeJS.Timeout | null = null;

function flushStderr(): void {
  if (timer) clearTimeout(timer);
  timer = null;
  process.removeListener('exit', flushAtExit);
  if (!pending.length) return;
  const text = pending.join('');
  pending = [];
  pendingBytes = 0;
  process.stderr.write(text);
}

/** What is still waiting when the process exits is written at once (no event loop is left to do it later). */
function flushAtExit(): void {
  if (!pending.length) return;
  try {
    fs.writeSync(2, pending.join(''));
  } catch {
    /* stderr is gone: nothing left to tell */
  }
  pending = [];
  pendingBytes = 0;
}

/** Log lines to stderr, batched (the default sink). */
export function stderrSink(line: string): void {
  pending.push(line + '\n');
  pendingBytes += line.length + 1;
  if (pendingBytes >= FLUSH_BYTES) return flushStderr();
  if (timer) return;
  timer = setTimeout(flushStderr, FLUSH_MS);
  timer.unref(); // never keeps a process alive: the exit listener writes what is left
  // Listened for only while lines wait, so loading this module many times (tests) adds no listeners.
  process.once('exit', flushAtExit);
}

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
