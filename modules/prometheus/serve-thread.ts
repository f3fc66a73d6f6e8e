// The active exporter's HTTP server, on a thread of its own. The module's
// thread rebuilds /metrics (reads, collects, renders: about a second of
// synchronous work at 10,000 OSDs) and hands the finished bytes over,
// transferred rather than copied; this thread does nothing but answer, so a
// scrape never waits behind a rebuild, and each answer is the cached bytes
// written once (headers and body together).
import * as http from 'http';
import { parentPort } from 'worker_threads';
import { CONTENT_TYPE, INDEX_PAGE, listen } from './http-common';
import type { FromServeThread, ServeState, ToServeThread } from './exposition-server';

const parent = parentPort!;
const send = (m: FromServeThread) => parent.postMessage(m);

let body: Buffer | null = null;
let bodyGz: Buffer | null = null;
let bodyTime = 0;
let collectSeconds = 0;
let state: ServeState = { cache: true, staleStrategy: 'log', interval: 15, lastError: '' };
// Scrapes waiting for a rebuild (cache off), each under the number of the ask it sent; answered by the
// first body (or failure) whose collection began after that ask arrived.
let waiting: Array<{ ask: number; answer: () => void }> = [];
let asks = 0;

function release(answers: number): void {
  const now = waiting.filter((w) => w.ask <= answers);
  waiting = waiting.filter((w) => w.ask > answers);
  for (const w of now) w.answer();
}

const server = http.createServer((req, res) => onRequest(req, res));
server.keepAliveTimeout = 30000;

parent.on('message', (m: ToServeThread) => {
  switch (m.type) {
    case 'listen':
      listen(server, m.addr, m.port).then(
        (port) => send({ type: 'listening', port }),
        (e: Error) => send({ type: 'listen_failed', message: e.message }),
      );
      break;
    case 'body':
      body = Buffer.from(m.body);
      bodyGz = Buffer.from(m.gz);
      bodyTime = m.time;
      collectSeconds = m.collectSeconds;
      release(m.answers);
      break;
    case 'state':
      state = m.state;
      break;
    case 'rebuild_failed':
      release(m.answers);
      break;
    case 'close':
      server.close(() => send({ type: 'closed' }));
      server.closeAllConnections();
      break;
  }
});

function onRequest(req: http.IncomingMessage, res: http.ServerResponse): void {
  try {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { Allow: 'GET, HEAD', 'Content-Type': 'text/plain' }).end('Method Not Allowed\n');
      return;
    }
    if (path === '/') {
      res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8' }).end(INDEX_PAGE('/metrics'));
      return;
    }
    if (path !== '/metrics') {
      res.writeHead(404, { 'Content-Type': 'text/plain' }).end('Not Found\n');
      return;
    }
    if (!state.cache) {
      // cache off: every scrape asks for a body begun after it arrived (the module coalesces the asks:
      // one collection answers every ask that arrived before it began)
      const ask = ++asks;
      send({ type: 'rebuild', ask });
      waiting.push({ ask, answer: () => answerMetrics(req, res) });
      return;
    }
    answerMetrics(req, res);
  } catch (e) {
    if (!res.headersSent) res.writeHead(500, { 'Content-Type': 'text/plain' });
    res.end(`internal error: ${(e as Error).message}\n`);
  }
}

function answerMetrics(req: http.IncomingMessage, res: http.ServerResponse): void {
  if (!body) {
    res
      .writeHead(503, { 'Content-Type': 'text/plain', 'Retry-After': '1' })
      .end(state.lastError ? `metrics not available: ${state.lastError}\n` : 'metrics not collected yet\n');
    return;
  }
  const age = (Date.now() - bodyTime) / 1000;
  if (age > 2 * state.interval + collectSeconds) {
    const msg = `cached metrics are ${age.toFixed(1)} s old (scrape_interval ${state.interval} s)`;
    if (state.staleStrategy === 'fail') {
      res.writeHead(503, { 'Content-Type': 'text/plain' }).end(`${msg}\n`);
      return;
    }
    send({ type: 'log', level: 'warn', message: `serving stale metrics: ${msg}` });
  }
  // Prometheus asks for gzip: the body shrinks about tenfold.
  const useGz = !!bodyGz && /\bgzip\b/.test(String(req.headers['accept-encoding'] ?? ''));
  const out = useGz ? bodyGz! : body;
  res.writeHead(200, {
    'Content-Type': CONTENT_TYPE,
    'Content-Length': out.length,
    Vary: 'Accept-Encoding',
    ...(useGz ? { 'Content-Encoding': 'gzip' } : {}),
  });
  res.end(req.method === 'HEAD' ? undefined : out);
}
