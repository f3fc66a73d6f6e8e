// The bare HTTP transport the scrape benchmark compares against: Node's
// http server answering every GET with the bytes of a file read once into a
// Buffer (the gzip copy when the client asks for gzip), in one write, with no
// other work. Run as a child process, placed as module-host is.
//   node --import tsx bench/baseline-http.ts <body file> [<gzip file>]
import * as fs from 'fs';
import * as http from 'http';

function main(): void {
  const [bodyFile, gzFile] = process.argv.slice(2);
  if (!bodyFile) {
    process.stderr.write('usage: baseline-http.ts <body file> [<gzip file>]\n');
    process.exit(2);
  }
  const body = fs.readFileSync(bodyFile);
  const gz = gzFile ? fs.readFileSync(gzFile) : null;
  const server = http.createServer((req, res) => {
    const useGz = !!gz && /\bgzip\b/.test(String(req.headers['accept-encoding'] ?? ''));
    const out = useGz ? gz! : body;
    res.writeHead(200, {
      'Content-Type': 'text/plain; version=0.0.4; charset=utf-8',
      'Content-Length': out.length,
      ...(useGz ? { 'Content-Encoding': 'gzip' } : {}),
    });
    res.end(out);
  });
  server.keepAliveTimeout = 30000;
  server.listen(0, '127.0.0.1', () => process.stdout.write(`baseline http listening on ${(server.address() as { port: number }).port}\n`));
}

main();
