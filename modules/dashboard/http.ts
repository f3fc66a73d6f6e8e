// The HTTP(S) side: listening with the configured address, port and TLS, the
// static files (ours and the front-end libraries, straight from
// node_modules: no bundler, no CDN), and small request/response helpers.
import * as crypto from 'crypto';
import * as fs from 'fs';
import * as http from 'http';
import * as https from 'https';
import * as os from 'os';
import * as path from 'path';
import type { AddressInfo } from 'net';

export interface ListenConfig {
  addr: string;
  port: number;
  ssl: boolean;
  cert?: string;
  key?: string;
}

export interface Listening {
  server: http.Server;
  port: number;
  /** What setUri publishes: scheme://host:port/ */
  url: string;
  close(): Promise<void>;
}

export type Handler = (req: http.IncomingMessage, res: http.ServerResponse) => void | Promise<void>;

/** Listens or rejects (EADDRINUSE, EACCES, a bad certificate...) with the reason. */
export function listen(cfg: ListenConfig, handler: Handler, onError: (e: Error) => void): Promise<Listening> {
  return new Promise((resolve, reject) => {
    const wrapped: Handler = (req, res) => {
      Promise.resolve(handler(req, res)).catch((e) => {
        onError(e as Error);
        if (!res.headersSent) sendJson(res, 500, { detail: 'internal error; see the manager log' });
        else res.destroy();
      });
    };
    let server: http.Server;
    try {
      server = cfg.ssl ? https.createServer({ cert: cfg.cert, key: cfg.key }, wrapped) : http.createServer(wrapped);
    } catch (e) {
      reject(new Error(`cannot use the SSL certificate/key: ${(e as Error).message}`));
      return;
    }
    // Slow clients must not pin sockets forever.
    server.headersTimeout = 10_000;
    server.requestTimeout = 30_000;
    server.keepAliveTimeout = 5_000;
    const fail = (e: NodeJS.ErrnoException) =>
      reject(new Error(`cannot listen on ${hostPort(cfg.addr, cfg.port)}: ${e.code ?? ''} ${e.message}`.replace(/\s+/g, ' ')));
    server.once('error', fail);
    server.listen(cfg.port, cfg.addr, () => {
      server.off('error', fail);
      server.on('error', onError);
      const port = (server.address() as AddressInfo).port;
      resolve({
        server,
        port,
        url: `${cfg.ssl ? 'https' : 'http'}://${hostPort(publicHost(cfg.addr), port)}/`,
        close: () =>
          new Promise<void>((r) => {
            server.close(() => r());
            server.closeAllConnections();
          }),
      });
    });
  });
}

function publicHost(addr: string): string {
  // Ceph publishes the host's name when bound to every address.
  if (addr === '0.0.0.0' || addr === '::' || addr === '') return os.hostname();
  return addr;
}

function hostPort(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

const SECURITY_HEADERS: Record<string, string> = {
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
};

export function sendJson(res: http.ServerResponse, status: number, body: unknown, headers: Record<string, string | string[]> = {}): void {
  const data = Buffer.from(JSON.stringify(body));
  res.writeHead(status, { ...SECURITY_HEADERS, 'content-type': 'application/json', 'cache-control': 'no-store', 'content-length': data.length, ...headers });
  res.end(data);
}

export function sendText(res: http.ServerResponse, status: number, text: string, headers: Record<string, string> = {}): void {
  const data = Buffer.from(text);
  res.writeHead(status, { ...SECURITY_HEADERS, 'content-type': 'text/plain; charset=utf-8', 'content-length': data.length, ...headers });
  res.end(data);
}

/** Reads a JSON body up to maxBytes; throws a message fit for a 400/413. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- a request body: every caller checks the fields it reads
type RequestJson = any;

export async function readJson(req: http.IncomingMessage, maxBytes = 16 * 1024): Promise<RequestJson> {
  const type = String(req.headers['content-type'] ?? '');
  if (!/^application\/json\b/i.test(type)) throw new HttpError(415, 'the request body must be JSON (Content-Type: application/json)');
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const c of req) {
    size += (c as Buffer).length;
    if (size > maxBytes) throw new HttpError(413, `the request body is larger than ${maxBytes} bytes`);
    chunks.push(c as Buffer);
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch (e) {
    throw new HttpError(400, `the request body is not valid JSON: ${(e as Error).message}`);
  }
}

export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

interface StaticFile {
  body: Buffer;
  type: string;
  etag: string;
}

const TYPES: Record<string, string> = {
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.html': 'text/html; charset=utf-8',
  '.svg': 'image/svg+xml',
};

/** A package's folder (not every package exports its package.json, e.g. htm). */
function pkgDir(name: string): string {
  let d = path.dirname(require.resolve(name));
  while (path.basename(d) !== name || !fs.existsSync(path.join(d, 'package.json'))) {
    const up = path.dirname(d);
    if (up === d) throw new Error(`cannot find the folder of package ${name}`);
    d = up;
  }
  return d;
}

/**
 * URL path -> file. Only these are served: a fixed list, so no request path
 * ever reaches the file system.
 */
function staticFiles(): Record<string, string> {
  const front = path.join(__dirname, 'frontend');
  return {
    '/static/app.js': path.join(front, 'app.js'),
    '/static/app.css': path.join(front, 'app.css'),
    '/static/favicon.svg': path.join(front, 'favicon.svg'),
    '/static/vendor/preact.mjs': path.join(pkgDir('preact'), 'dist/preact.mjs'),
    '/static/vendor/preact-hooks.mjs': path.join(pkgDir('preact'), 'hooks/dist/hooks.mjs'),
    '/static/vendor/htm.mjs': path.join(pkgDir('htm'), 'dist/htm.mjs'),
    '/static/vendor/uPlot.esm.js': path.join(pkgDir('uplot'), 'dist/uPlot.esm.js'),
    '/static/vendor/uPlot.min.css': path.join(pkgDir('uplot'), 'dist/uPlot.min.css'),
  };
}

/** The bare specifiers the front end imports, resolved by the browser. */
export const IMPORT_MAP = JSON.stringify({
  imports: {
    preact: '/static/vendor/preact.mjs',
    'preact/hooks': '/static/vendor/preact-hooks.mjs',
    htm: '/static/vendor/htm.mjs',
    uplot: '/static/vendor/uPlot.esm.js',
  },
});

export class StaticAssets {
  private files = new Map<string, StaticFile>();
  readonly indexHtml: Buffer;
  readonly csp: string;

  constructor() {
    for (const [url, file] of Object.entries(staticFiles())) {
      const body = fs.readFileSync(file);
      this.files.set(url, {
        body,
        type: TYPES[path.extname(file)] ?? 'application/octet-stream',
        etag: `"${crypto.createHash('sha1').update(body).digest('hex').slice(0, 16)}"`,
      });
    }
    const html = fs.readFileSync(path.join(__dirname, 'frontend/index.html'), 'utf8').replace('__IMPORT_MAP__', IMPORT_MAP);
    this.indexHtml = Buffer.from(html);
    // The inline import map is the only inline script; allow exactly it.
    const mapHash = crypto.createHash('sha256').update(IMPORT_MAP).digest('base64');
    this.csp = `default-src 'self'; script-src 'self' 'sha256-${mapHash}'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'`;
  }

  /** True when it answered. */
  serve(req: http.IncomingMessage, res: http.ServerResponse, pathname: string): boolean {
    if (pathname === '/' || pathname === '/index.html') {
      res.writeHead(200, {
        ...SECURITY_HEADERS,
        'content-type': 'text/html; charset=utf-8',
        'content-security-policy': this.csp,
        'cache-control': 'no-cache',
        'content-length': this.indexHtml.length,
      });
      res.end(req.method === 'HEAD' ? undefined : this.indexHtml);
      return true;
    }
    const f = this.files.get(pathname);
    if (!f) return false;
    if (req.headers['if-none-match'] === f.etag) {
      res.writeHead(304, { etag: f.etag });
      res.end();
      return true;
    }
    res.writeHead(200, { ...SECURITY_HEADERS, 'content-type': f.type, etag: f.etag, 'cache-control': 'no-cache', 'content-length': f.body.length });
    res.end(req.method === 'HEAD' ? undefined : f.body);
    return true;
  }
}
