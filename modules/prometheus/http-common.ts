// What the active exporter's serving thread and the standby part share:
// binding with an error that names the address and the reason, the index
// page, the exposition content type.
import * as http from 'http';

export const CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

/** Listens, or rejects with a message naming the address (EADDRINUSE, EACCES, ...). */
export function listen(server: http.Server, addr: string, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const onError = (e: NodeJS.ErrnoException) => {
      server.off('listening', onListening);
      const why =
        e.code === 'EADDRINUSE'
          ? 'address already in use'
          : e.code === 'EACCES'
            ? 'permission denied'
            : e.code === 'EADDRNOTAVAIL'
              ? 'address not available on this host'
              : e.message;
      reject(new Error(`cannot listen on ${addr}:${port}: ${why}`));
    };
    const onListening = () => {
      server.off('error', onError);
      resolve((server.address() as { port: number }).port);
    };
    server.once('error', onError);
    server.once('listening', onListening);
    server.listen(port, addr);
  });
}

export const INDEX_PAGE = (metricsHref: string) => `<!DOCTYPE html>
<html>
  <head><title>Ceph Exporter</title></head>
  <body>
    <h1>Ceph Exporter</h1>
    <p><a href="${metricsHref.replace(/"/g, '&quot;')}">Metrics</a></p>
  </body>
</html>
`;
