// The bare transport every benchmark compares against: a plain grpc-js
// server with no framework, no validation and no work, on raw bytes.
//   Get  (unary): returns N pre-built bytes (N = the 4-byte request)
//   Echo (unary): returns the request
//   Sink (client stream): counts messages and bytes, answers at the end
// Run as a child process so that client and server are placed as ours are.
// With --nice-grpc, the same methods on a nice-grpc server (no middleware):
// the framework's own cost per call and per open stream, measured apart.
import * as grpc from '@grpc/grpc-js';
import { createServer } from 'nice-grpc';

const raw = {
  requestSerialize: (b: Buffer) => b,
  requestDeserialize: (b: Buffer) => b,
  responseSerialize: (b: Buffer) => b,
  responseDeserialize: (b: Buffer) => b,
};

export const BaselineService: grpc.ServiceDefinition = {
  Get: { path: '/bench.Baseline/Get', requestStream: false, responseStream: false, ...raw },
  Echo: { path: '/bench.Baseline/Echo', requestStream: false, responseStream: false, ...raw },
  Sink: { path: '/bench.Baseline/Sink', requestStream: true, responseStream: false, ...raw },
};

export const BaselineClient = grpc.makeGenericClientConstructor(BaselineService, 'Baseline');

const payloads = new Map<number, Buffer>();

/** Get's answer: `request`'s 4-byte length N, N pre-built bytes. */
function payload(request: Buffer): Buffer {
  const n = request.readUInt32BE(0);
  let p = payloads.get(n);
  if (!p) payloads.set(n, (p = Buffer.alloc(n, 0x61)));
  return p;
}

/** Sink's answer: how many messages and bytes it read. */
function sinkAnswer(messages: number, bytes: number): Buffer {
  const out = Buffer.alloc(16);
  out.writeDoubleBE(messages, 0);
  out.writeDoubleBE(bytes, 8);
  return out;
}

/** The same methods as nice-grpc handlers (nice-grpc takes grpc-js definitions as they are). */
async function mainNiceGrpc(): Promise<void> {
  const server = createServer({ 'grpc.max_send_message_length': -1, 'grpc.max_receive_message_length': -1 });
  server.add(BaselineService, {
    async Get(request: Buffer) {
      return payload(request);
    },
    async Echo(request: Buffer) {
      return request;
    },
    async Sink(requests: AsyncIterable<Buffer>) {
      let messages = 0;
      let bytes = 0;
      for await (const b of requests) {
        messages++;
        bytes += b.length;
      }
      return sinkAnswer(messages, bytes);
    },
  });
  const port = await server.listen('127.0.0.1:0', grpc.ServerCredentials.createInsecure());
  process.stdout.write(`baseline listening on 127.0.0.1:${port}\n`);
  process.on('SIGTERM', () => void server.shutdown().then(() => process.exit(0)));
}

function main(): void {
  const server = new grpc.Server({ 'grpc.max_send_message_length': -1, 'grpc.max_receive_message_length': -1 });
  server.addService(BaselineService, {
    Get(call: grpc.ServerUnaryCall<Buffer, Buffer>, cb: grpc.sendUnaryData<Buffer>) {
      cb(null, payload(call.request));
    },
    Echo(call: grpc.ServerUnaryCall<Buffer, Buffer>, cb: grpc.sendUnaryData<Buffer>) {
      cb(null, call.request);
    },
    Sink(call: grpc.ServerReadableStream<Buffer, Buffer>, cb: grpc.sendUnaryData<Buffer>) {
      let messages = 0;
      let bytes = 0;
      call.on('data', (b: Buffer) => {
        messages++;
        bytes += b.length;
      });
      call.on('end', () => cb(null, sinkAnswer(messages, bytes)));
    },
  });
  server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, port) => {
    if (err) throw err;
    process.stdout.write(`baseline listening on 127.0.0.1:${port}\n`);
  });
  process.on('SIGTERM', () => server.tryShutdown(() => process.exit(0)));
}

if (require.main === module) {
  if (process.argv.includes('--nice-grpc')) void mainNiceGrpc();
  else main();
}
