// A Zabbix trapper stand-in for the tests, written from the protocol
// specification independently of the module's own codec: it checks each
// request's header ("ZBXD", flags 0x01, 8-byte little-endian length that
// must equal the body's byte length), parses the JSON, records it, and
// answers as a Zabbix server would, or misbehaves as told.
import * as net from 'net';
import * as zlib from 'zlib';

export type Behaviour =
  /** {"response":"success","info":"processed: N; failed: 0; ..."} */
  | 'success'
  /** success, but `failed` of the values were not processed */
  | { failed: number }
  /** the answer zlib-compressed (flags 0x03, reserved = uncompressed length) */
  | 'compressed'
  /** half a header, then close */
  | 'close-early'
  /** an HTTP answer instead of the Zabbix protocol */
  | 'garbage';

export interface ReceivedRequest {
  flags: number;
  /** The 8-byte little-endian length as sent. */
  declaredLength: bigint;
  /** The body's length in bytes. */
  bodyBytes: number;
  json: any;
}

export interface Receiver {
  port: number;
  requests: ReceivedRequest[];
  behaviour: Behaviour;
  /** Protocol violations seen (the test expects none). */
  violations: string[];
  close(): Promise<void>;
}

function answer(body: object, compressed = false): Buffer {
  const json = Buffer.from(JSON.stringify(body), 'utf8');
  if (!compressed) {
    const h = Buffer.alloc(13);
    h.write('ZBXD', 0, 'ascii');
    h[4] = 0x01;
    h.writeBigUInt64LE(BigInt(json.length), 5);
    return Buffer.concat([h, json]);
  }
  const z = zlib.deflateSync(json);
  const h = Buffer.alloc(13);
  h.write('ZBXD', 0, 'ascii');
  h[4] = 0x03;
  h.writeUInt32LE(z.length, 5);
  h.writeUInt32LE(json.length, 9);
  return Buffer.concat([h, z]);
}

export async function startReceiver(behaviour: Behaviour = 'success'): Promise<Receiver> {
  const sockets = new Set<net.Socket>();
  const r: Receiver = {
    port: 0,
    requests: [],
    behaviour,
    violations: [],
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
  const server = net.createServer((sock) => {
    sockets.add(sock);
    sock.on('close', () => sockets.delete(sock));
    let buf = Buffer.alloc(0);
    sock.on('data', (chunk) => {
      buf = Buffer.concat([buf, chunk]);
      if (buf.length < 13) return;
      if (buf.subarray(0, 4).toString('ascii') !== 'ZBXD') {
        r.violations.push(`bad magic ${JSON.stringify(buf.subarray(0, 4).toString('latin1'))}`);
        sock.destroy();
        return;
      }
      const flags = buf[4];
      const declared = buf.readBigUInt64LE(5);
      if (buf.length < 13 + Number(declared)) return;
      const body = buf.subarray(13);
      if (flags !== 0x01) r.violations.push(`flags 0x${flags.toString(16)}, expected 0x01`);
      if (BigInt(body.length) !== declared) r.violations.push(`declared ${declared} bytes, sent ${body.length}`);
      let json: any;
      try {
        json = JSON.parse(body.toString('utf8'));
      } catch (e) {
        r.violations.push(`body is not JSON: ${(e as Error).message}`);
        sock.destroy();
        return;
      }
      r.requests.push({ flags, declaredLength: declared, bodyBytes: body.length, json });
      const n = Array.isArray(json.data) ? json.data.length : 0;
      const b = r.behaviour;
      if (b === 'close-early') {
        sock.end(Buffer.from('ZBXD\x01\x10\x00\x00', 'latin1'));
      } else if (b === 'garbage') {
        sock.end('HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n');
      } else {
        const failed = typeof b === 'object' ? Math.min(b.failed, n) : 0;
        sock.end(
          answer({ response: 'success', info: `processed: ${n - failed}; failed: ${failed}; total: ${n}; seconds spent: 0.000042` }, b === 'compressed'),
        );
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  r.port = (server.address() as net.AddressInfo).port;
  return r;
}
