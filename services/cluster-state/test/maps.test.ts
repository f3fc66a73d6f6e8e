import { Status } from 'nice-grpc';
import { shapeDiff } from '../../../lib/testing/shape';
import { startTestServer, fixture, json, parse, failure } from './helpers';

describe('cluster-state maps', () => {
  let t: Awaited<ReturnType<typeof startTestServer>>;
  beforeAll(async () => {
    t = await startTestServer({ maxMessageBytes: 4 * 1024 * 1024 });
  });
  afterAll(() => t.close());

  it('stores maps and serves them in the fixture shapes', async () => {
    const plain = ['osd_map', 'fs_map', 'mon_map', 'mgr_map', 'service_map', 'osd_metadata', 'mds_metadata'];
    for (const name of plain) {
      const doc = fixture(`mgrget-${name}.json`);
      const epoch = typeof doc.epoch === 'number' ? doc.epoch : 1;
      const put = await t.client.putMap({ name, epoch, json: json(doc) });
      expect(put.epoch).toBe(epoch);
      expect(put.seq).toBeGreaterThan(0);
      const got = await t.client.get({ what: name });
      expect(got.epoch).toBe(epoch);
      expect(parse(got.json)).toEqual(doc);
    }
  });

  it('wraps mon_status as Ceph does ({"json": "<string>"})', async () => {
    const ref = fixture('mgrget-mon_status.json');
    await t.client.putMap({ name: 'mon_status', epoch: 1, json: Buffer.from(ref.json) });
    const got = parse((await t.client.get({ what: 'mon_status' })).json);
    expect(shapeDiff(got, ref)).toEqual([]);
    expect(JSON.parse(got.json)).toEqual(JSON.parse(ref.json));
  });

  it('derives osd_map_tree from the CRUSH map and the osd map exactly as Ceph', async () => {
    await t.client.putMap({ name: 'crush_map', epoch: 1, json: json(fixture('mgrget-osd_map_crush.json')) });
    expect(parse((await t.client.get({ what: 'osd_map_crush' })).json)).toEqual(fixture('mgrget-osd_map_crush.json'));
    expect(parse((await t.client.get({ what: 'osd_map_tree' })).json)).toEqual(fixture('mgrget-osd_map_tree.json'));
  });

  it('refuses epochs that do not grow, naming both, and keeps the stored map', async () => {
    const doc = fixture('mgrget-osd_map.json');
    const err = await failure(t.client.putMap({ name: 'osd_map', epoch: doc.epoch, json: json(doc) }));
    expect(err.code).toBe(Status.FAILED_PRECONDITION);
    expect(err.message).toContain(`epoch ${doc.epoch} is not above the stored epoch ${doc.epoch}`);
    expect((await t.client.get({ what: 'osd_map' })).epoch).toBe(doc.epoch);
  });

  it('answers bad input with INVALID_ARGUMENT and a reason, changing nothing', async () => {
    const before = await t.client.get({ what: 'osd_map' });
    const e = before.epoch + 1;
    const cases: Array<[Parameters<typeof t.client.putMap>[0], RegExp]> = [
      [{ name: 'osd_map', epoch: e, json: Buffer.from('{nope') }, /does not parse/],
      [{ name: 'osd_map', epoch: e, json: Buffer.from('[1,2]') }, /must be an object, got an array/],
      [{ name: 'osd_map', epoch: e, json: Buffer.from('null') }, /must be an object, got null/],
      [{ name: 'osd_map', epoch: e, json: json({ epoch: e + 5 }) }, /"epoch" is \d+ but the request's epoch is/],
      [{ name: 'nope_map', epoch: e, json: json({}) }, /unknown map 'nope_map'; one of: osd_map/],
      [{ name: '', epoch: e, json: json({}) }, /map name is empty/],
      [{ name: 'osd_map', epoch: 0, json: json({}) }, /epoch must be .* at least 1/],
      [{ name: 'osd_map', epoch: 2 ** 32, json: json({ epoch: 2 ** 32 }) }, /above 4294967295; Ceph's map epochs are 32-bit/],
    ];
    for (const [req, why] of cases) {
      const err = await failure(t.client.putMap(req));
      expect(err.code).toBe(Status.INVALID_ARGUMENT);
      expect(err.message).toMatch(why);
    }
    const after = await t.client.get({ what: 'osd_map' });
    expect(after.epoch).toBe(before.epoch);
    expect(Buffer.compare(Buffer.from(after.json), Buffer.from(before.json))).toBe(0);
  });

  it('names the valid names for an unknown get()', async () => {
    const err = await failure(t.client.get({ what: 'osd_mapp' }));
    expect(err.code).toBe(Status.NOT_FOUND);
    expect(err.message).toMatch(/unknown get\('osd_mapp'\); valid names: .*osd_map_tree.*pg_summary/);
  });

  it('refuses oversize maps with RESOURCE_EXHAUSTED naming the setting', async () => {
    const big = Buffer.from(JSON.stringify({ epoch: 1000, pad: 'x'.repeat(4 * 1024 * 1024) }));
    const err = await failure(t.client.putMap({ name: 'osd_map', epoch: 1000, json: big }));
    expect(err.code).toBe(Status.RESOURCE_EXHAUSTED);
    expect(err.message).toMatch(/MGR_MAX_MESSAGE_BYTES/);
    // Far above the transport limit the gRPC layer itself refuses it.
    const huge = Buffer.alloc(6 * 1024 * 1024, 0x20);
    const err2 = await failure(t.client.putMap({ name: 'osd_map', epoch: 1000, json: huge }));
    expect(err2.code).toBe(Status.RESOURCE_EXHAUSTED);
    expect((await t.client.get({ what: 'osd_map' })).epoch).toBe(fixture('mgrget-osd_map.json').epoch);
  });

  it('serves the typed osd and fs maps', async () => {
    const { osdMap } = await t.client.getOsdMap({});
    const ref = fixture('mgrget-osd_map.json');
    expect(osdMap!.epoch).toBe(ref.epoch);
    expect(osdMap!.osds.map((o) => o.osd)).toEqual(ref.osds.map((o: any) => o.osd));
    expect(osdMap!.pools.find((p) => p.poolName === 'cephfs_metadata')!.applications).toEqual(['cephfs']);
    const { fsMap } = await t.client.getFsMap({});
    expect(fsMap!.filesystems[0].name).toBe(fixture('mgrget-fs_map.json').filesystems[0].mdsmap.fs_name);
  });
});

describe('cluster-state with a 10,000-OSD map', () => {
  let t: Awaited<ReturnType<typeof startTestServer>>;
  beforeAll(async () => {
    t = await startTestServer();
  });
  afterAll(() => t.close());

  it('stores it, serves the same bytes, and builds derived views once per epoch', async () => {
    const ref = fixture('mgrget-osd_map.json');
    const osds = [];
    const xinfo = [];
    for (let i = 0; i < 10000; i++) {
      osds.push({ ...ref.osds[i % ref.osds.length], osd: i, uuid: `00000000-0000-0000-0000-${String(i).padStart(12, '0')}` });
      xinfo.push({ ...ref.osd_xinfo[i % ref.osd_xinfo.length], osd: i });
    }
    const big = { ...ref, epoch: 100, max_osd: 10000, osds, osd_xinfo: xinfo };
    const bytes = json(big);
    expect(bytes.length).toBeGreaterThan(5_000_000);
    await t.client.putMap({ name: 'osd_map', epoch: 100, json: bytes });
    const a = await t.client.get({ what: 'osd_map' });
    expect(Buffer.compare(Buffer.from(a.json), bytes)).toBe(0);
    const tree1 = parse((await t.client.get({ what: 'osd_map_tree' })).json);
    await t.client.get({ what: 'osd_map_tree' });
    await t.client.get({ what: 'osd_map_tree' });
    expect(tree1.nodes.filter((n: any) => n.type === 'osd')).toHaveLength(10000);
    expect(t.handle.state.views.builds.get('osd_map_tree')).toBe(1);
    const { osdMap } = await t.client.getOsdMap({});
    expect(osdMap!.osds).toHaveLength(10000);
  });
});

describe('cluster-state before the feed has put anything', () => {
  let t: Awaited<ReturnType<typeof startTestServer>>;
  beforeAll(async () => {
    t = await startTestServer();
  });
  afterAll(() => t.close());

  it("answers NOT_FOUND (Ceph's None) for maps that have no empty form, and empty forms for the others", async () => {
    const err = await failure(t.client.get({ what: 'osd_map' }));
    expect(err.code).toBe(Status.NOT_FOUND);
    expect(err.message).toMatch(/no osd_map has been put yet/);
    expect((await failure(t.client.getOsdMap({}))).code).toBe(Status.UNAVAILABLE);
    expect(parse((await t.client.get({ what: 'osd_metadata' })).json)).toEqual({});
    expect(parse((await t.client.get({ what: 'devices' })).json)).toEqual(fixture('mgrget-devices.json'));
    expect(parse((await t.client.get({ what: 'health' })).json)).toEqual(fixture('mgrget-health.json'));
    expect(parse((await t.client.get({ what: 'pg_summary' })).json)).toEqual({ all: {}, by_osd: {}, by_pool: {}, pg_stats_sum: expect.any(Object) });
  });

  it('raises OSD_DOWN when the osd map has an in OSD that is down, and clears it', async () => {
    const ref = fixture('mgrget-osd_map.json');
    const down = { ...ref, epoch: ref.epoch + 1, osds: ref.osds.map((o: any) => (o.osd === 1 ? { ...o, up: 0, state: ['exists'] } : o)) };
    await t.client.putMap({ name: 'osd_map', epoch: down.epoch, json: json(down) });
    let health = JSON.parse(parse((await t.client.get({ what: 'health' })).json).json);
    expect(health.status).toBe('HEALTH_WARN');
    expect(health.checks.OSD_DOWN.summary).toEqual({ message: '1 osds down', count: 1 });
    expect(health.checks.OSD_DOWN.detail).toEqual([{ message: 'osd.1 is down' }]);
    const tree = parse((await t.client.get({ what: 'osd_map_tree' })).json);
    expect(tree.nodes.find((n: any) => n.id === 1).status).toBe('down');
    await t.client.putMap({ name: 'osd_map', epoch: down.epoch + 1, json: json({ ...ref, epoch: down.epoch + 1 }) });
    health = JSON.parse(parse((await t.client.get({ what: 'health' })).json).json);
    expect(health.status).toBe('HEALTH_OK');
  });
});
