// A small InfluxDB 1.x HTTP client: POST /write (line protocol) and
// POST /query, with basic auth, optional TLS, and a timeout per request.
// Node's http/https rather than fetch, so `verify_ssl false` is a plain
// request option and no extra dependency is needed.
import * as http from 'http';
import * as https from 'https';

export interface InfluxTarget {
  hostname: string;
  port: number;
  database: string;
  username: string;
  password: string;
  ssl: boolean;
  verifySsl: boolean;
  timeoutMs: number;
}

/** A failure worth a health check; `connection` tells network errors from HTTP answers. */
export class InfluxError extends Error {
  constructor(
    message: string,
    readonly status: number | null,
    readonly connection: boolean,
  ) {
    super(message);
  }
}

export function where(t: InfluxTarget): string {
  const host = t.hostname.includes(':') && !t.hostname.startsWith('[') ? `[${t.hostname}]` : t.hostname;
  return `${t.ssl ? 'https' : 'http'}://${host}:${t.port}`;
}

interface Answer {
  status: number;
  body: string;
  headers: http.IncomingHttpHeaders;
}

function request(t: InfluxTarget, path: string, params: Record<string, string>, body: string, contentType: string): Promise<Answer> {
  const qs = new URLSearchParams(params).toString();
  const headers: Record<string, string | number> = { 'Content-Type': contentType, 'Content-Length': Buffer.byteLength(body) };
  if (t.username) headers.Authorization = `Basic ${Buffer.from(`${t.username}:${t.password}`).toString('base64')}`;
  const opts: https.RequestOptions = {
    host: t.hostname.replace(/^\[(.*)\]$/, '$1'),
    port: t.port,
    method: 'POST',
    path: `${path}?${qs}`,
    headers,
    timeout: t.timeoutMs,
    rejectUnauthorized: t.verifySsl,
  };
  return new Promise<Answer>((resolve, reject) => {
    const req = (t.ssl ? https : http).request(opts, (res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (c: Buffer) => {
        // Answers are small JSON; keep at most 64 KiB of an unexpected large one.
        if (size < 65536) chunks.push(c);
        size += c.length;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8'), headers: res.headers }));
      res.on('error', (e) => reject(new InfluxError(`reading the answer of ${where(t)}${path} failed: ${e.message}`, null, true)));
    });
    req.on('timeout', () => req.destroy(new Error(`no answer within ${t.timeoutMs} ms`)));
    req.on('error', (e: NodeJS.ErrnoException) =>
      reject(new InfluxError(`cannot reach InfluxDB at ${where(t)}: ${e.code ? `${e.code} ` : ''}${e.message}`, null, true)),
    );
    req.end(body);
  });
}

function errorOf(a: Answer): string {
  try {
    const j = JSON.parse(a.body);
    if (typeof j.error === 'string') return j.error;
  } catch {
    /* not JSON */
  }
  return (a.headers['x-influxdb-error'] as string | undefined) ?? a.body.slice(0, 300).trim();
}

/** InfluxQL identifier quoting. */
export function quoteIdent(s: string): string {
  return `"${s.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}

/** Runs InfluxQL statements; throws on an HTTP error or a statement error. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- InfluxDB's /query answer, read field by field
type InfluxJson = any;

export async function query(t: InfluxTarget, q: string, db?: string): Promise<InfluxJson> {
  const params: Record<string, string> = { q };
  if (db) params.db = db;
  const a = await request(t, '/query', params, '', 'application/x-www-form-urlencoded');
  if (a.status !== 200) throw new InfluxError(`InfluxDB at ${where(t)} refused query (HTTP ${a.status}): ${errorOf(a)}`, a.status, false);
  const j = JSON.parse(a.body);
  for (const r of j.results ?? []) if (r.error) throw new InfluxError(`InfluxDB at ${where(t)} failed query: ${r.error}`, a.status, false);
  return j;
}

/**
 * Creates the database with an 8-week default retention policy, as Ceph's
 * module does (needs admin privileges on the InfluxDB user).
 */
export async function createDatabase(t: InfluxTarget): Promise<void> {
  const db = quoteIdent(t.database);
  await query(t, `CREATE DATABASE ${db}`);
  await query(t, `CREATE RETENTION POLICY "8_weeks" ON ${db} DURATION 8w REPLICATION 1 DEFAULT`);
}

/** Writes lines with precision=ms. `missingDb` is true when InfluxDB said the database does not exist. */
export async function write(t: InfluxTarget, lines: string[]): Promise<{ missingDb: boolean }> {
  const a = await request(t, '/write', { db: t.database, precision: 'ms' }, lines.join('\n'), 'text/plain; charset=utf-8');
  if (a.status === 204 || a.status === 200) return { missingDb: false };
  const err = errorOf(a);
  if (a.status === 404 && /database not found/.test(err)) return { missingDb: true };
  throw new InfluxError(`InfluxDB at ${where(t)} refused the write to database '${t.database}' (HTTP ${a.status}): ${err}`, a.status, false);
}
