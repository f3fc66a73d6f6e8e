// A data directory written by the previous version (fixtures/previous-version:
// made by running main's cluster-state once, before the typed ingest path)
// starts as it is: its maps and the modules' store are kept, and reports
// arrive through the typed path. A directory from a newer version is refused
// with what to do.
import * as fs from 'fs';
import * as path from 'path';
import Database from 'better-sqlite3';
import { DaemonQueryKind } from '../../../lib/gen/ceph/mgr/v1/cluster_state';
import { pgStatsReportFromJson } from '../../../lib/pgstats-json';
import { SimCluster } from '../../../sim/cluster';
import { startClusterState } from '../server';
import { startTestServer, tempDir, parse } from './helpers';

const FIXTURE = path.join(__dirname, 'fixtures/previous-version/cluster-state.db');

describe('a data directory of the previous version', () => {
  it('starts as it is: maps, epochs and the store kept; the typed path works on it', async () => {
    const dir = tempDir();
    fs.copyFileSync(FIXTURE, path.join(dir, 'cluster-state.db'));
    try {
      const t = await startTestServer({ dataDir: dir });
      try {
        expect((await t.client.get({ what: 'osd_map' })).epoch).toBe(27);
        expect((await t.client.get({ what: 'fs_map' })).epoch).toBe(4);
        expect(Object.keys(parse((await t.client.get({ what: 'osd_metadata' })).json))).toEqual(['0', '1', '2']);
        expect(await t.client.getStore({ key: 'mgr/hello/greeting' })).toEqual({ found: true, value: 'from the previous version' });
        expect(await t.client.getStore({ key: 'config/mgr/mgr/hello/place' })).toEqual({ found: true, value: 'Earth' });
        // an epoch not above the stored one is still refused: the epochs came through
        await expect(t.client.putMap({ name: 'osd_map', epoch: 27, json: Buffer.from('{"epoch":27}') })).rejects.toThrow(/FAILED_PRECONDITION|not above/);
        const sim = new SimCluster({ osds: 3, now: () => 1795585000 });
        const res = await t.client.ingestPgStats({
          stats: sim.osds.map((o) => ({ osd: o.id, epoch: 27, stamp: 1795585000, report: pgStatsReportFromJson(sim.osdPgStats(o.id, 1795585000)) })),
        });
        expect(res).toEqual({ applied: 3, rejected: [] });
        expect(parse((await t.client.get({ what: 'pg_stats' })).json).pg_stats).toHaveLength(sim.pgs.length);
        const all = await t.client.queryDaemons({
          kind: DaemonQueryKind.DAEMON_QUERY_KIND_LIST_SERVERS,
          svcType: '',
          svcId: '',
          hostname: '',
          path: '',
          services: [],
        });
        expect(parse(all.json)).toEqual([]);
        expect(t.handle.service).toBeDefined();
      } finally {
        await t.close();
      }
      // marked as the current format now
      const db = new Database(path.join(dir, 'cluster-state.db'), { readonly: true });
      expect(db.prepare("SELECT value FROM meta WHERE key = 'format'").get()).toEqual({ value: '2' });
      db.close();
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses a directory written by a newer version, saying what to do', async () => {
    const dir = tempDir();
    fs.copyFileSync(FIXTURE, path.join(dir, 'cluster-state.db'));
    const db = new Database(path.join(dir, 'cluster-state.db'));
    db.exec("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID; INSERT INTO meta VALUES ('format', '99');");
    db.close();
    try {
      await expect(startClusterState({ port: 0, metricsPort: -1, logLevel: 'error', dataDir: dir })).rejects.toThrow(
        /written by a newer version of mgrpc \(store format 99; this version reads formats 1 to 2\): run that version, or start with another --data-dir/,
      );
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
