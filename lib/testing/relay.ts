// A TCP relay on loopback for fault tests: it forwards each accepted
// connection to a target and can record what passes, go silent without
// closing (a half-open link), cut the next chunk in half and drop both ends
// (a peer killed mid-frame), or change bytes on the way (tampering).
//
//   const r = await startRelay({ host: '127.0.0.1', port: target });
//   connect to 127.0.0.1:r.port ...
//   r.blackhole = true;              // nothing passes any more, nothing closes
//   r.cutNext('toClient');           // the next chunk to the client: half of it, then both sockets destroyed
//   r.tamper = (dir, chunk, at) => chunk; // rewrite chunks in flight (`at`: the chunk's offset in its direction)
//   r.pairs[0].toServer              // the bytes one connection sent each way, as received
import * as net from 'net';

export type RelayDirection = 'toServer' | 'toClient';

export interface RelayPair {
  client: net.Socket;
  server: net.Socket;
  /** Everything received from each side so far (before any tampering). */
  toServer: Buffer[];
  toClient: Buffer[];
  closed: boolean;
}

export interface Relay {
  readonly port: number;
  readonly pairs: RelayPair[];
  /** While true, nothing is forwarded either way and no close is passed on (a dead link). */
  blackhole: boolean;
  /** Rewrites a chunk on its way (`at`: its offset in that direction of that connection). */
  tamper?: (dir: RelayDirection, chunk: Buffer, at: number) => Buffer;
  /** The next chunk going `dir` (on any connection): forward its first half, then destroy both sockets of that connection. */
  cutNext(dir: RelayDirection): Promise<{ forwarded: number; of: number }>;
  /** Destroys every open connection (as a peer's crash would). */
  dropAll(): void;
  close(): Promise<void>;
}

export async function startRelay(target: { host: string; port: number }): Promise<Relay> {
  const pairs: RelayPair[] = [];
  const cuts: Array<{ dir: RelayDirection; done: (r: { forwarded: number; of: number }) => void }> = [];
  const srv = net.createServer();
  const relay: Relay = {
    port: 0,
    pairs,
    blackhole: false,
    cutNext: (dir) => new Promise((done) => cuts.push({ dir, done })),
    dropAll: () => {
      for (const p of pairs) {
        p.client.destroy();
        p.server.destroy();
      }
    },
    close: async () => {
      relay.dropAll();
      await new Promise<void>((r) => srv.close(() => r()));
    },
  };
  srv.on('connection', (client) => {
    const server = net.connect(target.port, target.host);
    const pair: RelayPair = { client, server, toServer: [], toClient: [], closed: false };
    pairs.push(pair);
    const offset: Record<RelayDirection, number> = { toServer: 0, toClient: 0 };
    const end = () => {
      pair.closed = true;
      client.destroy();
      server.destroy();
    };
    const pipe = (from: net.Socket, to: net.Socket, dir: RelayDirection) => {
      from.on('data', (chunk: Buffer) => {
        pair[dir].push(chunk);
        const at = offset[dir];
        offset[dir] += chunk.length;
        if (relay.blackhole || pair.closed) return;
        const cut = cuts.findIndex((c) => c.dir === dir);
        if (cut >= 0 && chunk.length >= 2) {
          const [c] = cuts.splice(cut, 1);
          const half = Math.floor(chunk.length / 2);
          to.write(chunk.subarray(0, half), () => {
            end();
            c.done({ forwarded: half, of: chunk.length });
          });
          return;
        }
        to.write(relay.tamper ? relay.tamper(dir, chunk, at) : chunk);
      });
      // over a dead link a close does not travel either
      from.on('close', () => !relay.blackhole && end());
      from.on('error', () => undefined);
    };
    pipe(client, server, 'toServer');
    pipe(server, client, 'toClient');
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  (relay as { port: number }).port = (srv.address() as net.AddressInfo).port;
  return relay;
}
