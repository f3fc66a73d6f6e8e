// The Zabbix sender protocol, spoken directly over TCP (what the
// `zabbix_sender` binary does; Ceph's module runs that binary instead).
//
// Every message, both ways, is a header and a JSON body:
//   "ZBXD"  4 bytes
//   flags   1 byte: 0x01 Zabbix protocol, 0x02 zlib-compressed, 0x04 large packet
//   datalen 4 bytes little-endian (8 with 0x04)
//   reserved 4 bytes (8 with 0x04): the uncompressed length with 0x02, else 0
// which, uncompressed and under 4 GiB, is the older description "ZBXD\x01" +
// 8-byte little-endian length. The request:
//   {"request":"sender data","data":[{"host","key","value","clock","ns"}],"clock","ns"}
// and the answer: {"response":"success","info":"processed: N; failed: M; total: T; seconds spent: S"}
import * as net from 'net';
import * as zlib from 'zlib';

export const MAGIC = Buffer.from('ZBXD', 'ascii');
export const FLAG_ZABBIX = 0x01;
export const FLAG_COMPRESSED = 0x02;
export const FLAG_LARGE = 0x04;
/** zabbix_sender sends at most 250 values per connection; so do we. */
export const MAX_ITEMS_PER_REQUEST = 250;
/** Answers are a line of JSON; anything bigger than this is not a Zabbix server talking. */
const MAX_ANSWER_BYTES = 1 << 20;

export interface SenderItem {
  host: string;
  key: string;
  value: string;
  clock?: number;
  ns?: number;
}

export interface SenderAnswer {
  response: string;
  info: string;
  processed: number;
  failed: number;
  total: number;
}

export class ZabbixError extends Error {}

/** Header + body for one message (uncompressed, small-packet form). */
export function encodeMessage(body: string | Buffer): Buffer {
  const data = typeof body === 'string' ? Buffer.from(body, 'utf8') : body;
  const header = Buffer.alloc(13);
  MAGIC.copy(header, 0);
  header.writeUInt8(FLAG_ZABBIX, 4);
  header.writeUInt32LE(data.length, 5);
  header.writeUInt32LE(0, 9);
  return Buffer.concat([header, data]);
}

/**
 * Parses one complete message from the start of buf: the body, or null when
 * more bytes are needed. Throws when the bytes are not the Zabbix protocol.
 */
export function decodeMessage(buf: Buffer, maxBytes = MAX_ANSWER_BYTES): { body: Buffer; length: number } | null {
  if (buf.length < 5) {
    if (!MAGIC.subarray(0, buf.length).equals(buf.subarray(0, Math.min(buf.length, 4))))
      throw new ZabbixError(`not a Zabbix protocol message (starts with ${JSON.stringify(buf.toString('latin1'))})`);
    return null;
  }
  if (!buf.subarray(0, 4).equals(MAGIC))
    throw new ZabbixError(`not a Zabbix protocol message (starts with ${JSON.stringify(buf.subarray(0, 16).toString('latin1'))})`);
  const flags = buf[4];
  if (!(flags & FLAG_ZABBIX)) throw new ZabbixError(`unknown Zabbix protocol flags 0x${flags.toString(16)}`);
  const large = (flags & FLAG_LARGE) !== 0;
  const headerLen = large ? 21 : 13;
  if (buf.length < headerLen) return null;
  const dataLen = large ? Number(buf.readBigUInt64LE(5)) : buf.readUInt32LE(5);
  const reserved = large ? Number(buf.readBigUInt64LE(13)) : buf.readUInt32LE(9);
  if (dataLen > maxBytes || (flags & FLAG_COMPRESSED && reserved > maxBytes))
    throw new ZabbixError(`Zabbix message of ${Math.max(dataLen, reserved)} bytes exceeds the ${maxBytes}-byte limit`);
  if (buf.length < headerLen + dataLen) return null;
  let body = buf.subarray(headerLen, headerLen + dataLen);
  if (flags & FLAG_COMPRESSED) body = zlib.inflateSync(body, { maxOutputLength: maxBytes });
  return { body, length: headerLen + dataLen };
}

/** "processed: 1; failed: 0; total: 1; seconds spent: 0.060753" */
export function parseInfo(info: string): { processed: number; failed: number; total: number } | null {
  const m = /processed:?\s*(\d+);\s*failed:?\s*(\d+);\s*total:?\s*(\d+)/i.exec(info);
  return m ? { processed: Number(m[1]), failed: Number(m[2]), total: Number(m[3]) } : null;
}

/** The request body for a batch of items, stamped with the sending time. */
export function requestBody(items: SenderItem[], nowMs = Date.now()): string {
  return JSON.stringify({
    request: 'sender data',
    data: items,
    clock: Math.floor(nowMs / 1000),
    ns: (nowMs % 1000) * 1e6,
  });
}

/** One connection: sends one request and reads the answer. */
export function sendOnce(host: string, port: number, items: SenderItem[], timeoutMs: number): Promise<SenderAnswer> {
  const where = `${host.includes(':') ? `[${host}]` : host}:${port}`;
  return new Promise<SenderAnswer>((resolve, reject) => {
    let received = Buffer.alloc(0);
    let settled = false;
    const finish = (err: Error | null, answer?: SenderAnswer) => {
      if (settled) return;
      settled = true;
      sock.destroy();
      if (err) reject(err);
      else resolve(answer!);
    };
    const sock = net.connect({ host, port });
    sock.setTimeout(timeoutMs, () => finish(new ZabbixError(`Zabbix server at ${where} did not answer within ${timeoutMs} ms`)));
    sock.on('connect', () => sock.write(encodeMessage(requestBody(items))));
    sock.on('data', (chunk: Buffer) => {
      received = Buffer.concat([received, chunk]);
      let msg;
      try {
        msg = decodeMessage(received);
      } catch (e) {
        finish(new ZabbixError(`Zabbix server at ${where} answered badly: ${(e as Error).message}`));
        return;
      }
      if (!msg) return;
      // eslint-disable-next-line @typescript-eslint/no-explicit-any -- the Zabbix server's answer, checked field by field below
      let json: any;
      try {
        json = JSON.parse(msg.body.toString('utf8'));
      } catch {
        finish(
          new ZabbixError(`Zabbix server at ${where} answered with a body that is not JSON: ${JSON.stringify(msg.body.subarray(0, 200).toString('utf8'))}`),
        );
        return;
      }
      const info = String(json.info ?? '');
      if (json.response !== 'success') {
        finish(new ZabbixError(`Zabbix server at ${where} refused the data: response '${String(json.response)}'${info ? `, ${info}` : ''}`));
        return;
      }
      const counts = parseInfo(info) ?? { processed: items.length, failed: 0, total: items.length };
      finish(null, { response: json.response, info, ...counts });
    });
    sock.on('end', () => finish(new ZabbixError(`Zabbix server at ${where} closed the connection after ${received.length} bytes, before a complete answer`)));
    sock.on('error', (e: NodeJS.ErrnoException) =>
      finish(new ZabbixError(`cannot send to Zabbix server at ${where}: ${e.code ? `${e.code} ` : ''}${e.message}`)),
    );
  });
}

/**
 * Sends every item in batches of MAX_ITEMS_PER_REQUEST, one connection each.
 * Throws when a batch fails or the server reports values it did not process
 * (zabbix_sender exits non-zero then too).
 */
export async function sendAll(
  host: string,
  port: number,
  items: SenderItem[],
  timeoutMs: number,
): Promise<{ processed: number; failed: number; total: number; requests: number }> {
  const sum = { processed: 0, failed: 0, total: 0, requests: 0 };
  for (let i = 0; i < items.length; i += MAX_ITEMS_PER_REQUEST) {
    const a = await sendOnce(host, port, items.slice(i, i + MAX_ITEMS_PER_REQUEST), timeoutMs);
    sum.processed += a.processed;
    sum.failed += a.failed;
    sum.total += a.total;
    sum.requests++;
  }
  if (sum.failed > 0) {
    const where = `${host.includes(':') ? `[${host}]` : host}:${port}`;
    throw new ZabbixError(
      `Zabbix server at ${where} processed ${sum.processed} and failed ${sum.failed} of ${sum.total} values (failed values are keys the host does not have as trapper items, values of the wrong type, or an unknown host name)`,
    );
  }
  return sum;
}
