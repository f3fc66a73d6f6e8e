// The modules' store: validation, listing, events, and durability across
// kill -9 of a real cluster-state process.
import { keyringCredentials } from '../../../lib/auth/keys';
import { provisionKeyring } from '../../../lib/auth/provision';
import { spawn, ChildProcess } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import * as readline from 'readline';
import { Status } from 'nice-grpc';
import { openChannel, makeClient } from '../../../lib/client';
import { ClusterStateServiceDefinition } from '../../../lib/gen/ceph/mgr/v1/cluster_state';
import { HealthSeverity } from '../../../lib/gen/ceph/mgr/v1/common';
import { shapeDiff } from '../../../lib/testing/shape';
import { SqliteStore } from '../domain/kvstore';
import { startTestServer, tempDir, failure, fixture, parse, json } from './helpers';

const ROOT = path.join(__dirname, '../../..');

describe('cluster-state store', () => {
  let t: Awaited<ReturnType<typeof startTestServer>>;
  beforeAll(async () => {
    t = await startTestServer({ maxStoreValueBytes: 1000 });
  });
  afterAll(() => t.close());

  it('sets, gets, lists by prefix and deletes', async () => {
    expect(await t.client.setStore({ key: 'mgr/hello/greeting', value: 'hi' })).toEqual({ existed: false });
    expect(await t.client.setStore({ key: 'mgr/hello/greeting', value: 'hello' })).toEqual({ existed: true });
    await t.client.setStore({ key: 'mgr/hello/other', value: '' });
    await t.client.setStore({ key: 'mgr/hellothere/x', value: 'no' });
    await t.client.setStore({ key: 'config/mgr/mgr/hello/place', value: 'earth' });
    expect(await t.client.getStore({ key: 'mgr/hello/greeting' })).toEqual({ found: true, value: 'hello' });
    expect(await t.client.getStore({ key: 'mgr/hello/other' })).toEqual({ found: true, value: '' });
    expect(await t.client.getStore({ key: 'mgr/hello/none' })).toEqual({ found: false, value: '' });
    expect((await t.client.listStore({ prefix: 'mgr/hello/' })).entries).toEqual({ 'mgr/hello/greeting': 'hello', 'mgr/hello/other': '' });
    expect(await t.client.setStore({ key: 'mgr/hello/other' })).toEqual({ existed: true });
    expect(await t.client.setStore({ key: 'mgr/hello/other' })).toEqual({ existed: false });
    expect(Object.keys((await t.client.listStore({ prefix: '' })).entries)).toEqual(['config/mgr/mgr/hello/place', 'mgr/hello/greeting', 'mgr/hellothere/x']);
  });

  it('refuses empty keys, long keys and large values, storing nothing', async () => {
    const cases: Array<[Promise<unknown>, RegExp]> = [
      [t.client.setStore({ key: '', value: 'x' }), /key is empty/],
      [t.client.setStore({ key: 'mgr/x/' + 'k'.repeat(1020), value: 'x' }), /key is \d+ bytes; the limit is 1024/],
      [t.client.setStore({ key: 'mgr/x/big', value: 'v'.repeat(1001) }), /is 1001 bytes; the limit is 1000/],
      [t.client.getStore({ key: '' }), /key is empty/],
    ];
    for (const [call, why] of cases) {
      const err = await failure(call);
      expect(err.code).toBe(Status.INVALID_ARGUMENT);
      expect(err.message).toMatch(why);
    }
    expect((await t.client.listStore({ prefix: 'mgr/x/' })).entries).toEqual({});
  });

  it('merges SetHealthChecks sources into get("health") in Ceph\'s shape', async () => {
    const ok = parse((await t.client.get({ what: 'health' })).json);
    expect(ok).toEqual(fixture('mgrget-health.json'));
    expect(
      (
        await t.client.setHealthChecks({
          source: 'module:prometheus',
          checks: [
            {
              code: 'MGR_MODULE_ERROR',
              severity: HealthSeverity.HEALTH_SEVERITY_ERROR,
              summary: "Module 'prometheus' has failed: boom",
              count: 1,
              detail: ["Module 'prometheus' has failed: boom"],
            },
          ],
        })
      ).status,
    ).toBe('HEALTH_ERR');
    await t.client.setHealthChecks({
      source: 'module:x',
      checks: [
        {
          code: 'POOL_NO_REDUNDANCY',
          severity: HealthSeverity.HEALTH_SEVERITY_WARNING,
          summary: '1 pool(s) have no replicas configured',
          count: 1,
          detail: [],
        },
      ],
    });
    const ref = fixture('mgrget-health-warn.json');
    const mine = parse((await t.client.get({ what: 'health' })).json);
    expect(shapeDiff(mine, ref)).toEqual([]);
    expect(shapeDiff(JSON.parse(mine.json), JSON.parse(ref.json), { mapPaths: ['$.checks'] })).toEqual([]);
    expect(JSON.parse(mine.json).status).toBe('HEALTH_ERR');
    expect((await t.client.setHealthChecks({ source: 'module:prometheus', checks: [] })).status).toBe('HEALTH_WARN');
    expect((await t.client.setHealthChecks({ source: 'module:x', checks: [] })).status).toBe('HEALTH_OK');
    expect((await failure(t.client.setHealthChecks({ source: '', checks: [] }))).code).toBe(Status.INVALID_ARGUMENT);
  });

  it('takes health checks one by one: a bad code among good ones is refused with a reason, the good ones are stored', async () => {
    const check = (code: string, severity = HealthSeverity.HEALTH_SEVERITY_WARNING) => ({
      code,
      severity,
      summary: `${code} summary`,
      count: 1,
      detail: [`${code} detail`],
    });
    const r = await t.client.setHealthChecks({
      source: 'module-host',
      checks: [
        check('MGR_MODULE_ERROR', HealthSeverity.HEALTH_SEVERITY_ERROR),
        check('bad code'),
        check('PROMETHEUS_FINE'),
        check('PROMETHEUS_FINE'),
        { ...check('ODD_SEVERITY'), severity: 7 as HealthSeverity },
      ],
    });
    expect(r.status).toBe('HEALTH_ERR');
    expect(r.refused.map((x) => x.code)).toEqual(['bad code', 'PROMETHEUS_FINE', 'ODD_SEVERITY']);
    expect(r.refused[0].reason).toMatch(/upper-case letters, digits and _/);
    expect(r.refused[1].reason).toMatch(/appears twice/);
    expect(r.refused[2].reason).toMatch(/severity 7/);
    const checks = JSON.parse(parse((await t.client.get({ what: 'health' })).json).json).checks;
    expect(Object.keys(checks).sort()).toEqual(['MGR_MODULE_ERROR', 'PROMETHEUS_FINE']);
    expect(checks.MGR_MODULE_ERROR.severity).toBe('HEALTH_ERR');

    // Oversized text is cut, not refused; more checks than the limit are refused past it.
    const long = { ...check('LONG_ONE'), summary: 's'.repeat(5000), detail: Array.from({ length: 1500 }, (_, i) => `line ${i}`) };
    const many = Array.from({ length: 1001 }, (_, i) => check(`C_${i}`));
    const r2 = await t.client.setHealthChecks({ source: 'module-host', checks: [long, ...many] });
    expect(r2.refused.map((x) => x.code)).toEqual(['C_999', 'C_1000']);
    expect(r2.refused[0].reason).toMatch(/more than 1000/);
    const stored = JSON.parse(parse((await t.client.get({ what: 'health' })).json).json).checks.LONG_ONE;
    expect(stored.summary.message.length).toBe(1024);
    expect(stored.detail).toHaveLength(1000);
    expect(stored.detail[999].message).toBe('… and 501 more');
    expect((await t.client.setHealthChecks({ source: 'module-host', checks: [] })).status).toBe('HEALTH_OK');
  });
});

/** Starts main.ts as a child process and resolves with its address once it serves. */
function startChild(dataDir: string): Promise<{ child: ChildProcess; address: string }> {
  const child = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      'services/cluster-state/main.ts',
      '--port',
      '0',
      '--metrics-port',
      '-1',
      '--data-dir',
      dataDir,
      '--keyring',
      path.join(dataDir, 'keyring'),
    ],
    {
      cwd: ROOT,
      stdio: ['ignore', 'ignore', 'pipe'],
    },
  );
  return new Promise((resolve, reject) => {
    let address = '';
    const lines = readline.createInterface({ input: child.stderr! });
    lines.on('line', (line) => {
      let rec: any;
      try {
        rec = JSON.parse(line);
      } catch {
        return;
      }
      if (rec.msg === 'listening') address = rec.address;
      if (rec.msg === 'serving') resolve({ child, address });
    });
    child.once('exit', (code) => reject(new Error(`cluster-state exited with ${code} before serving`)));
  });
}

describe('cluster-state durability', () => {
  it('keeps acknowledged store writes and map epochs across kill -9', async () => {
    const dataDir = tempDir();
    try {
      // The store is the managers': written and read as mgr.x.
      provisionKeyring(path.join(dataDir, 'keyring'), ['x']);
      const asMgr = { credentials: keyringCredentials(path.join(dataDir, 'keyring'), 'mgr.x') };
      const first = await startChild(dataDir);
      let channel = openChannel(first.address);
      let client = makeClient(ClusterStateServiceDefinition, channel, asMgr);
      for (let i = 0; i < 50; i++) await client.setStore({ key: `mgr/durable/k${i}`, value: `v${i}` });
      const osdMap = fixture('mgrget-osd_map.json');
      await client.putMap({ name: 'osd_map', epoch: osdMap.epoch, json: json(osdMap) });
      const exited = new Promise((r) => first.child.once('exit', r));
      first.child.kill('SIGKILL');
      await exited;
      channel.close();

      const second = await startChild(dataDir);
      channel = openChannel(second.address);
      client = makeClient(ClusterStateServiceDefinition, channel, asMgr);
      const entries = (await client.listStore({ prefix: 'mgr/durable/' })).entries;
      expect(Object.keys(entries)).toHaveLength(50);
      expect(entries['mgr/durable/k49']).toBe('v49');
      expect((await client.get({ what: 'osd_map' })).epoch).toBe(osdMap.epoch);
      const stale = await failure(client.putMap({ name: 'osd_map', epoch: osdMap.epoch, json: json(osdMap) }));
      expect(stale.code).toBe(Status.FAILED_PRECONDITION);
      channel.close();
      const exited2 = new Promise((r) => second.child.once('exit', r));
      second.child.kill('SIGTERM');
      expect(await exited2).toBe(0);
    } finally {
      fs.rmSync(dataDir, { recursive: true, force: true });
    }
  });
});

describe('cluster-state store file', () => {
  it('is readable by its owner only, also when an older version left it world-readable', async () => {
    const dir = path.join(tempDir(), 'data');
    const mode = (f: string) => (fs.statSync(path.join(dir, f)).mode & 0o777).toString(8);
    const fresh = new SqliteStore(dir);
    await fresh.set('mgr/dashboard/jwt_secret', 'not for others');
    expect(mode('.')).toBe('700');
    expect(mode('cluster-state.db')).toBe('600');
    expect(mode('cluster-state.db-wal')).toBe('600');
    fresh.close();
    fs.chmodSync(path.join(dir, 'cluster-state.db'), 0o644);
    const reopened = new SqliteStore(dir);
    expect(mode('cluster-state.db')).toBe('600');
    expect(await reopened.get('mgr/dashboard/jwt_secret')).toBe('not for others');
    reopened.close();
  });
});
