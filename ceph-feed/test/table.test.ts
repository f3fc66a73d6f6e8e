// Every row of the feed's table against the fixtures of a real Pacific
// cluster: the CLI output through the row's transform has the shape of what
// ceph-mgr hands its modules (mgrget-*.json), also after a round trip
// through a real cluster-state (which wraps mon_status and health and
// derives osd_map_tree); MMgrDigests of a capture decode to mon_status in
// the exact shape; every get() key cluster-state serves is accounted for.
import * as fs from 'fs';
import * as path from 'path';
import { Status } from 'nice-grpc';
import { Tag } from '../../lib/ceph/frames';
import { decodeMessageFrame, MsgType } from '../../lib/ceph/message';
import { readVector } from '../../lib/ceph/testing/pcap';
import { shapeDiff } from '../../lib/testing/shape';
import { startTestServer } from '../../services/cluster-state/test/helpers';
import { decodeMgrDigest } from '../digest';
import type { ConfigEntry } from '../../sim/cluster';
import { DERIVED_KEYS, FEED_TABLE, NOT_FED, monStatusFromQuorumStatus, rowCommand, type FeedRow } from '../table';

const FIXTURES = path.join(__dirname, '../../../shared/fixtures/ceph-pacific');
const read = (file: string) => JSON.parse(fs.readFileSync(file.startsWith('test/') ? path.join(__dirname, '..', file) : path.join(FIXTURES, file), 'utf8'));
/** What ceph-mgr hands modules for a row: the inner JSON where it comes wrapped as {"json": "<string>"}. */
/** mgrpc's own keys have no ceph-mgr fixture: the reference is the simulator's form (typed, so it follows sim/cluster.ts). */
const simEntry: ConfigEntry = { section: 'global', name: 'osd_pool_default_size', value: '3', level: 'advanced', can_update_at_runtime: true, mask: '' };
const SIM_FORMS: Record<string, unknown> = { mon_config: { options: [simEntry] } };
const mgrget = (row: FeedRow) => {
  if (row.fixture.mgrget === 'sim') return SIM_FORMS[row.get];
  const doc = row.fixture.mgrgetEntry ? { [row.fixture.mgrgetEntry]: read(row.fixture.mgrget) } : read(row.fixture.mgrget);
  return typeof doc.json === 'string' && Object.keys(doc).length === 1 ? JSON.parse(doc.json) : doc;
};
/** quorum_status lacks mon_status's feature_map and required features: the approximation leaves them empty. */
const MON_STATUS_APPROXIMATION = ['$.feature_map.mon', '$.feature_map.mds', '$.feature_map.osd', '$.feature_map.client', '$.feature_map.mgr'];
const opts = (row: FeedRow) => ({ mapPaths: row.fixture.mapPaths, optionalPaths: row.get === 'mon_status' ? MON_STATUS_APPROXIMATION : [] });
const asSubset = (row: FeedRow) => row.get === 'config';

describe('the feed table against the Pacific fixtures', () => {
  it('has one row per map, each with a command, and fixtures that exist', () => {
    expect(new Set(FEED_TABLE.map((r) => r.map)).size).toBe(FEED_TABLE.length);
    for (const row of FEED_TABLE) {
      expect(rowCommand(row)).toMatchObject({ prefix: expect.any(String), format: 'json' });
      expect(() => read(row.fixture.cli)).not.toThrow();
      expect(row.fixture.mgrget === 'sim' ? SIM_FORMS[row.get] : read(row.fixture.mgrget)).toBeDefined();
    }
  });

  it.each(FEED_TABLE.map((r) => [r.get, r] as const))('%s: the CLI output through the transform has the shape ceph-mgr gives modules', (_get, row) => {
    const out = row.transform(read(row.fixture.cli));
    const ref = mgrget(row);
    if (asSubset(row)) {
      // the monitors' config database holds the options set for the manager, a subset of its whole configuration
      expect(Object.keys(out).every((k) => k in ref && typeof out[k] === typeof ref[k])).toBe(true);
      expect(out).toEqual({ mgr_stats_period: '3', osd_pool_default_pg_num: '16' });
      return;
    }
    expect(shapeDiff(out, ref, opts(row))).toEqual([]);
  });

  it('keys daemon metadata as ceph-mgr does, values unchanged', () => {
    const osd = FEED_TABLE.find((r) => r.get === 'osd_metadata')!;
    const { id: _id, ...osd0 } = read('osd-metadata.json')[0];
    expect(osd.transform(read('osd-metadata.json'))['0']).toEqual(osd0);
    expect(Object.keys(osd.transform(read('osd-metadata.json')))).toEqual(Object.keys(read('mgrget-osd_metadata.json')));
    const mds = FEED_TABLE.find((r) => r.get === 'mds_metadata')!;
    expect(mds.transform(read('mds-metadata.json'))).toEqual(read('mgrget-mds_metadata.json'));
    const mon = FEED_TABLE.find((r) => r.get === 'mon_map')!;
    expect(mon.transform(read('mon-dump.json'))).toEqual(read('mgrget-mon_map.json'));
    expect(() => osd.transform({ not: 'a list' })).toThrow(/expected a list/);
    expect(() => mds.transform([{ addr: 'x' }])).toThrow(/without "name"/);
  });

  it('through a real cluster-state, every key comes out in the mgrget shape (wrapped and derived ones too)', async () => {
    const t = await startTestServer();
    try {
      for (const row of FEED_TABLE) {
        const out = row.transform(read(row.fixture.cli));
        await t.client.putMap({ name: row.map, epoch: row.ownEpoch ? out.epoch : 1, json: Buffer.from(JSON.stringify(out)) });
      }
      for (const row of FEED_TABLE) {
        const got = JSON.parse(Buffer.from((await t.client.get({ what: row.get })).json).toString('utf8'));
        if (row.get === 'mon_status' || row.get === 'health') {
          // wrapped as {"json": "<string>"}, as ceph-mgr's digest gives them
          expect(Object.keys(got)).toEqual(['json']);
          expect(shapeDiff(JSON.parse(got.json), mgrget(row), opts(row))).toEqual([]);
        } else if (!asSubset(row)) expect(shapeDiff(got, mgrget(row), opts(row))).toEqual([]);
      }
      for (const d of DERIVED_KEYS) {
        const got = JSON.parse(Buffer.from((await t.client.get({ what: d.get })).json).toString('utf8'));
        expect(shapeDiff(got, read(d.mgrget))).toEqual([]);
        expect(got.nodes.map((n: { id: number }) => n.id).sort()).toEqual(
          read('osd-tree.json')
            .nodes.map((n: { id: number }) => n.id)
            .sort(),
        );
      }
    } finally {
      await t.close();
    }
  });

  it('accounts for every get() key cluster-state serves: fed, derived, left to others, or from the daemons', async () => {
    const t = await startTestServer();
    try {
      let names: string[] = [];
      await t.client.get({ what: 'no-such-key' }).catch((e) => {
        expect(e.code).toBe(Status.NOT_FOUND);
        names = /valid names: (.*)$/.exec(e.details)![1].split(', ');
      });
      expect(names.length).toBeGreaterThan(20);
      const fromDaemons = /^(pg_|pool_stats|osd_stats|osd_pool_stats|io_rate|df|active_clean_pgs)/;
      const fed = new Set([...FEED_TABLE.map((r) => r.get), ...DERIVED_KEYS.map((d) => d.get), ...NOT_FED]);
      expect(names.filter((n) => !fed.has(n) && !fromDaemons.test(n))).toEqual([]);
    } finally {
      await t.close();
    }
  });

  it('builds mon_status from quorum_status until a digest arrives', () => {
    const q = read('quorum-status.json');
    const s = monStatusFromQuorumStatus(q);
    expect(s).toMatchObject({ name: 'a', rank: 0, state: 'leader', quorum: [0], election_epoch: q.election_epoch, outside_quorum: [] });
    const three = { ...q, quorum: [0, 2], monmap: { ...q.monmap, mons: ['a', 'b', 'c'].map((name, rank) => ({ ...q.monmap.mons[0], name, rank })) } };
    expect(monStatusFromQuorumStatus(three).outside_quorum).toEqual(['b']);
  });
});

describe('MMgrDigest', () => {
  it('every digest of a captured cluster decodes to mon_status and health in the exact mgrget shapes', () => {
    const monStatus = JSON.parse(read('mgrget-mon_status.json').json);
    const health = JSON.parse(read('mgrget-health.json').json);
    let n = 0;
    for (const name of ['01-bringup', '02-steady-30s'])
      for (const c of readVector(name))
        for (const d of [c.client, c.server])
          for (const f of d.frames) {
            if (f.tag !== Tag.MESSAGE) continue;
            const m = decodeMessageFrame(f.segments);
            if (m.type !== MsgType.MGR_DIGEST) continue;
            const g = decodeMgrDigest(m);
            // feature_map is keyed by the daemon types connected at the time
            expect(shapeDiff(g.monStatus, monStatus, { mapPaths: ['$.feature_map'] })).toEqual([]);
            expect(shapeDiff(g.health, health, { mapPaths: ['$.checks'] })).toEqual([]);
            n++;
          }
    expect(n).toBe(12);
  });

  it('refuses other messages and broken payloads', () => {
    expect(() => decodeMgrDigest({ type: MsgType.MON_MAP, version: 1, compatVersion: 1, front: Buffer.alloc(0) })).toThrow(/not an MMgrDigest/);
    expect(() => decodeMgrDigest({ type: MsgType.MGR_DIGEST, version: 1, compatVersion: 1, front: Buffer.from([9, 0, 0, 0, 1]) })).toThrow(/needs 9 bytes/);
    const bl = (s: string) => Buffer.concat([Buffer.from([s.length, 0, 0, 0]), Buffer.from(s)]);
    expect(() => decodeMgrDigest({ type: MsgType.MGR_DIGEST, version: 1, compatVersion: 1, front: Buffer.concat([bl('{'), bl('{}')]) })).toThrow(
      /does not parse/,
    );
  });
});
