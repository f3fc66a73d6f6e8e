// Control frames, message headers and the monitor client's messages
// against the captures of a real Pacific cluster.
import { decodeControl, encodeControlPayload, IDENT_FLAG_LOSSY } from '../control';
import { Tag, tagName } from '../frames';
import { decodeHeader2, decodeMessageFrame, encodeHeader2, MsgType, msgTypeName, type Message } from '../message';
import * as L from '../messages/log';
import * as M from '../messages/mon';
import { readVector } from '../testing/pcap';
import { Decoder } from '../encoding';
import { decodeUTime } from '../types';

const CAPTURES = ['01-bringup', '02-steady-30s', '03-tell-mgr', '04-mgr-commands', '05-mon-commands'];

function* messages(names = CAPTURES): Generator<{ name: string; from: string; to: string; m: Message }> {
  for (const name of names)
    for (const c of readVector(name))
      for (const d of [c.client, c.server])
        for (const f of d.frames) if (f.tag === Tag.MESSAGE) yield { name, from: d.from, to: d.to, m: decodeMessageFrame(f.segments) };
}

describe('control frames and message headers (pcaps 01-05)', () => {
  it('every control frame and every message header decodes and re-encodes byte for byte', () => {
    const tags = new Set<string>();
    let n = 0;
    for (const name of CAPTURES)
      for (const c of readVector(name))
        for (const d of [c.client, c.server])
          for (const f of d.frames) {
            n++;
            const again = f.tag === Tag.MESSAGE ? encodeHeader2(decodeHeader2(f.segments[0])) : encodeControlPayload(decodeControl(f.tag, f.segments[0]));
            if (!again.equals(f.segments[0])) throw new Error(`${name} ${d.from}->${d.to} ${tagName(f.tag)} at ${f.offset} re-encodes differently`);
            tags.add(tagName(f.tag));
          }
    expect(n).toBeGreaterThan(7000);
    expect([...tags].sort()).toEqual(
      [
        'ACK',
        'AUTH_DONE',
        'AUTH_REPLY_MORE',
        'AUTH_REQUEST',
        'AUTH_REQUEST_MORE',
        'AUTH_SIGNATURE',
        'CLIENT_IDENT',
        'HELLO',
        'KEEPALIVE2',
        'KEEPALIVE2_ACK',
        'MESSAGE',
        'SERVER_IDENT',
      ].sort(),
    );
  });

  it('a monitor answers a client with a lossy SERVER_IDENT and Pacific features', () => {
    const conv = readVector('05-mon-commands').find((c) => c.server.from.endsWith(':40200') && c.server.frames.some((f) => f.tag === Tag.SERVER_IDENT));
    const ident = conv?.server.frames.find((f) => f.tag === Tag.SERVER_IDENT);
    const s = decodeControl(Tag.SERVER_IDENT, ident!.segments[0]);
    expect(s).toMatchObject({ tag: Tag.SERVER_IDENT, flags: IDENT_FLAG_LOSSY, supportedFeatures: 0x3f01cfbdfffdffffn });
  });

  it('control payloads with bytes left over or cut short are refused', () => {
    const ack = encodeControlPayload({ tag: Tag.ACK, seq: 5n });
    expect(() => decodeControl(Tag.ACK, Buffer.concat([ack, Buffer.from([0])]))).toThrow(/left over/);
    expect(() => decodeControl(Tag.ACK, ack.subarray(0, 7))).toThrow(/needs 8 bytes/);
    expect(() => decodeControl(99, ack)).toThrow(/unknown control frame tag 99/);
    const req = encodeControlPayload({ tag: Tag.AUTH_REQUEST, method: 2, preferredModes: [1], payload: Buffer.alloc(3) });
    const hostile = Buffer.from(req);
    hostile.writeUInt32LE(0x7fffffff, 4); // a preferred_modes count no buffer can hold
    expect(() => decodeControl(Tag.AUTH_REQUEST, hostile)).toThrow(/does not fit/);
  });
});

describe('monitor client messages (pcaps 01-05)', () => {
  const decoders: Record<number, (m: Message) => unknown> = {
    [MsgType.MON_MAP]: M.decodeMMonMap,
    [MsgType.OSD_MAP]: M.decodeMOSDMap,
    [MsgType.FS_MAP]: M.decodeMFSMap,
    [MsgType.MGR_MAP]: M.mgrMapEpoch,
    [MsgType.CONFIG]: M.decodeMConfig,
    [MsgType.MON_COMMAND]: M.decodeMMonCommand,
    [MsgType.MON_COMMAND_ACK]: M.decodeMMonCommandAck,
    [MsgType.MON_SUBSCRIBE]: M.decodeMMonSubscribe,
    [MsgType.AUTH]: M.decodeMAuth,
    [MsgType.AUTH_REPLY]: M.decodeMAuthReply,
    [MsgType.MON_GET_VERSION_REPLY]: M.decodeMMonGetVersionReply,
    [MsgType.SERVICE_MAP]: M.serviceMapEpoch,
  };

  it('every one of them decodes', () => {
    const counts: Record<string, number> = {};
    for (const { m } of messages()) {
      const decode = decoders[m.type];
      if (!decode) continue;
      decode(m);
      counts[msgTypeName(m.type)] = (counts[msgTypeName(m.type)] ?? 0) + 1;
    }
    expect(Object.keys(counts).sort()).toEqual(
      Object.keys(decoders)
        .map((t) => msgTypeName(Number(t)))
        .sort(),
    );
  });

  it('MMonMap: fsid, epoch, the monitor with its v2 and v1 addresses, min_mon_release pacific', () => {
    const { m } = [...messages(['01-bringup'])].find((x) => x.m.type === MsgType.MON_MAP)!;
    const { monmap } = M.decodeMMonMap(m);
    expect(monmap).toMatchObject({ fsid: '878ce9f2-7ae8-4c08-b31d-209ddd0eafc9', epoch: 1, minMonRelease: M.CephRelease.PACIFIC, structVersion: 9 });
    expect(monmap.mons).toEqual([
      {
        name: 'a',
        addrs: [
          { type: 2, nonce: 0, family: 'v4', host: '127.0.0.1', port: 40200 },
          { type: 1, nonce: 0, family: 'v4', host: '127.0.0.1', port: 40201 },
        ],
      },
    ]);
  });

  it('MOSDMap: epochs from the map keys, without decoding maps', () => {
    const maps = [...messages(['01-bringup'])].filter((x) => x.m.type === MsgType.OSD_MAP).map((x) => M.decodeMOSDMap(x.m));
    expect(maps.every((o) => o.fsid === '878ce9f2-7ae8-4c08-b31d-209ddd0eafc9')).toBe(true);
    // full maps are sent for a start of 0, incrementals after; newest never below what a message carries
    expect(maps.some((o) => o.full.length > 0)).toBe(true);
    expect(maps.some((o) => o.incrementals.length > 1)).toBe(true);
    for (const o of maps) expect(M.osdMapEpoch(o)).toBeLessThanOrEqual(o.newest);
    expect(Math.max(...maps.map(M.osdMapEpoch))).toBeGreaterThan(10);
  });

  it('our MOSDMap and MMonMap encoders reproduce what a Pacific monitor sends', () => {
    let osdmaps = 0;
    for (const { m } of messages(['01-bringup'])) {
      if (m.type === MsgType.OSD_MAP) {
        const d = new Decoder(m.front, 16);
        const read = () =>
          d.map(
            (x) => x.u32(),
            (x) => Buffer.from(x.blob()),
          );
        const incrementals = read();
        const full = read();
        const o = M.decodeMOSDMap(m);
        const ours = M.mOSDMap(o.fsid, { incrementals, full, oldest: o.oldest, newest: o.newest });
        expect(ours.front.equals(m.front)).toBe(true);
        expect([ours.version, ours.compatVersion]).toEqual([m.version, m.compatVersion]);
        osdmaps++;
      }
      if (m.type === MsgType.MON_MAP) {
        const { raw, monmap } = M.decodeMMonMap(m);
        const created = decodeUTime(new Decoder(raw, 6 + 16 + 4 + 8));
        expect(M.encodeMonMap(monmap, created).equals(raw)).toBe(true);
      }
    }
    expect(osdmaps).toBeGreaterThan(10);
  });

  it('MMonCommandAck: the JSON output is in the data segment', () => {
    const acks = [...messages(['05-mon-commands'])].filter((x) => x.m.type === MsgType.MON_COMMAND_ACK).map((x) => M.decodeMMonCommandAck(x.m));
    const dumps = acks.filter((a) => a.cmd.some((c) => /"osd dump"/.test(c)));
    expect(dumps.length).toBeGreaterThan(0);
    const osdmap = JSON.parse(dumps[0].data.toString('utf8'));
    expect(osdmap.fsid).toBe('878ce9f2-7ae8-4c08-b31d-209ddd0eafc9');
    expect(osdmap.osds.length).toBe(3);
    expect(dumps[0].r).toBe(0);
    expect(acks.every((a) => a.tid > 0n)).toBe(true);
  });

  it('MMgrMap and MServiceMap: the epochs, rising', () => {
    const epochs = [...messages(['01-bringup'])].filter((x) => x.m.type === MsgType.MGR_MAP).map((x) => M.mgrMapEpoch(x.m));
    expect(epochs[0]).toBe(1);
    expect(Math.max(...epochs)).toBeGreaterThan(5);
    const services = [...messages(['01-bringup'])].filter((x) => x.m.type === MsgType.SERVICE_MAP).map((x) => M.serviceMapEpoch(x.m));
    expect(services.length).toBeGreaterThan(0);
    expect(services.every((e) => e >= 1)).toBe(true);
  });

  it('our MMonSubscribe and MMonCommand encode as Ceph does', () => {
    const sub = [...messages(['05-mon-commands'])].find((x) => x.m.type === MsgType.MON_SUBSCRIBE)!.m;
    const { what, hostname } = M.decodeMMonSubscribe(sub);
    expect(M.mMonSubscribe(what, hostname).front.equals(sub.front)).toBe(true);
    const cmd = [...messages(['05-mon-commands'])].find((x) => x.m.type === MsgType.MON_COMMAND)!.m;
    const c = M.decodeMMonCommand(cmd);
    const ours = M.mMonCommand(cmd.tid!, c.cmd, undefined, c.fsid);
    expect(ours.front.equals(cmd.front)).toBe(true);
    expect([ours.version, ours.compatVersion]).toEqual([cmd.version, cmd.compatVersion]);
  });

  it('MAuth and MAuthReply round-trip', () => {
    for (const { m } of messages(['01-bringup'])) {
      if (m.type === MsgType.AUTH) {
        const a = M.decodeMAuth(m);
        expect(M.mAuth(a.protocol, a.payload, a.monmapEpoch).front.equals(m.front)).toBe(true);
      }
      if (m.type === MsgType.AUTH_REPLY) expect(M.mAuthReply(M.decodeMAuthReply(m)).front.equals(m.front)).toBe(true);
    }
  });

  it('MLog and MLogAck (the cluster log) decode and re-encode byte for byte', () => {
    let logs = 0;
    let acks = 0;
    for (const { m } of messages(['01-bringup'])) {
      if (m.type === MsgType.LOG) {
        const l = L.decodeMLog(m);
        expect(L.mLog(l.fsid, l.entries, l.version).front.equals(m.front)).toBe(true);
        if (!logs++) expect(l.entries[0]).toMatchObject({ channel: 'cluster', msg: expect.any(String), name: { type: expect.any(Number) } });
      }
      if (m.type === MsgType.LOGACK) {
        const a = L.decodeMLogAck(m);
        expect(L.mLogAck(a.fsid, a.last, a.channel).front.equals(m.front)).toBe(true);
        acks++;
      }
    }
    expect(logs).toBeGreaterThan(5);
    expect(acks).toBeGreaterThan(5);
  });

  it('a message of another type is refused by name', () => {
    const { m } = [...messages(['05-mon-commands'])].find((x) => x.m.type === MsgType.MON_SUBSCRIBE)!;
    expect(() => M.decodeMOSDMap(m)).toThrow(/expected MOSDMap/);
    expect(() => M.decodeMMonMap({ ...m, type: MsgType.MON_MAP, front: Buffer.from([1, 0, 0, 0]) })).toThrow();
  });
});
