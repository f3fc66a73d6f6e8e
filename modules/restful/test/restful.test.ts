// The restful module with a real HTTPS client: cluster-state fed by the
// simulator, the simulated monitors' command endpoint, a module-host running
// restful (and hello, for module commands), and a daemon-server in front of
// it, so `restful create-key` and every write go through the real command
// path. Each endpoint is checked with Ceph's method, path and shape (Pacific's
// restful module, /usr/share/ceph/mgr/restful/api), writes included, with
// their effect visible in a following read. Certificates come from openssl.
import * as fs from 'fs';
import * as https from 'https';
import * as http from 'http';
import * as path from 'path';
import * as tls from 'tls';
import { asCredentials, CallCredentials } from '../../../lib/auth/proof';
import { openChannel, makeClient } from '../../../lib/client';
import { DaemonServerServiceDefinition } from '../../../lib/gen/ceph/mgr/v1/daemon_server';
import { makeTestCerts, TestCerts } from '../../../lib/testing/certs';
import { startDaemonServer, DaemonServerHandle } from '../../../services/daemon-server/server';
import { parseKeyring } from '../../../lib/keyring';
import { ModuleHostHandle } from '../../../services/module-host/server';
import { startStack, until } from '../../prometheus/test/stack';
import { MgrClient } from '../../../lib/mgr-client';
import { SimMonitor, startMonitorEndpoint } from '../../../sim/monitor';
import type { RunningService } from '../../../lib/server';
import { API_DOC } from '../doc';

interface Reply {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: any;
}

describe('restful module', () => {
  let stack: Awaited<ReturnType<typeof startStack>>;
  let mh: ModuleHostHandle;
  let ds: DaemonServerHandle;
  let monitor: RunningService;
  let certs: TestCerts;
  let dsClient: ReturnType<typeof makeClient<typeof DaemonServerServiceDefinition>>;
  let admin: { credentials: CallCredentials };
  let ca: string;
  let key = '';

  /** A command through daemon-server, as mgrctl sends it. */
  const command = async (prefix: string, args: Record<string, unknown> = {}) => {
    const res = await dsClient.command({ prefix, args: JSON.stringify({ prefix, ...args }), inbuf: Buffer.alloc(0) }, admin);
    return res.result!;
  };
  const uri = () => mh.host.getServices().restful ?? '';
  /** One HTTP(S) request; `auth` is [user, key] or a raw Authorization header. */
  const call = (method: string, p: string, o: { auth?: [string, string] | string | null; body?: string; ca?: string; base?: string } = {}): Promise<Reply> => {
    const url = new URL(p, o.base ?? uri());
    const auth = o.auth === undefined ? ['admin', key] : o.auth;
    const headers: Record<string, string> = {};
    if (Array.isArray(auth)) headers.Authorization = `Basic ${Buffer.from(`${auth[0]}:${auth[1]}`).toString('base64')}`;
    else if (typeof auth === 'string') headers.Authorization = auth;
    if (o.body !== undefined) headers['Content-Type'] = 'application/json';
    const lib = url.protocol === 'https:' ? https : http;
    return new Promise((resolve, reject) => {
      const req = lib.request(url, { method, headers, ca: o.ca ?? ca, agent: false }, (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (d) => (text += d));
        res.on('end', () => {
          try {
            resolve({ status: res.statusCode!, headers: res.headers, body: JSON.parse(text) });
          } catch (e) {
            reject(new Error(`${method} ${p}: ${res.statusCode} and not JSON: ${text.slice(0, 200)}`));
          }
        });
      });
      req.on('error', reject);
      req.end(o.body);
    });
  };

  beforeAll(async () => {
    certs = makeTestCerts();
    ca = fs.readFileSync(certs.ca, 'utf8');
    stack = await startStack({ options: { 'config/mgr/restful/server_port': '0' } });
    mh = await stack.startHost({ enabledModules: ['restful', 'hello'], keyringPath: path.join(stack.dir, 'keyring') });
    // The simulated monitors (writes): OSDs marked down stay down here.
    monitor = await startMonitorEndpoint({
      monitor: new SimMonitor({ cluster: stack.sim, feed: stack.feed, osdRebootSec: 0 }),
      port: 0,
      keyringPath: path.join(stack.dir, 'keyring'),
      logLevel: 'error',
    });
    ds = await startDaemonServer({
      port: 0,
      metricsPort: -1,
      logLevel: 'error',
      clusterStateAddr: stack.cs.address,
      moduleHostAddr: mh.address,
      monAddr: monitor.address,
      keyringPath: path.join(stack.dir, 'keyring'),
    });
    // restful's /request sends its commands to this daemon-server (sendCommand as mgr.x).
    mh.commands.setFallbackAddr(ds.address);
    dsClient = makeClient(DaemonServerServiceDefinition, openChannel(ds.address));
    const keyring = parseKeyring(fs.readFileSync(path.join(stack.dir, 'keyring'), 'utf8'));
    admin = { credentials: asCredentials({ entity: 'client.admin', key: keyring.get('client.admin')!.key }) };
  }, 60000);

  afterAll(async () => {
    await ds?.stop();
    await monitor?.stop();
    await stack?.close();
    if (certs) fs.rmSync(certs.dir, { recursive: true, force: true });
  }, 30000);

  it('without a certificate (and plain HTTP not allowed) it raises MGR_RESTFUL_ERROR and publishes no URI', async () => {
    const check = await until('MGR_RESTFUL_ERROR', () => mh.host.healthChecks().find((c) => c.code === 'MGR_RESTFUL_ERROR'));
    expect(check.summary).toBe('restful module cannot serve: no certificate configured');
    expect(check.detail[0]).toContain('restful create-self-signed-cert');
    expect(uri()).toBe('');
  });

  it('lists its commands in help and creates keys through the command path', async () => {
    const help = await command('get_command_descriptions');
    expect(help.retcode).toBe(0);
    const listed = Object.values<any>(JSON.parse(help.stdout))
      .filter((c) => c.module === 'restful')
      .map((c) => c.sig.filter((w: string) => !w.includes('=')).join(' '));
    expect(listed.sort()).toEqual(['restful create-key', 'restful create-self-signed-cert', 'restful delete-key', 'restful list-keys', 'restful restart']);
    const created = await command('restful create-key', { key_name: 'admin' });
    expect(created.retcode).toBe(0);
    key = created.stdout;
    expect(key).toMatch(/^[0-9a-f-]{36}$/);
    expect((await command('restful create-key', { key_name: 'admin' })).stdout).toBe(key); // same user: same key
    expect((await command('restful create-key', { key_name: 'bad name' })).retcode).toBe(-22);
    expect((await command('restful create-key')).retcode).toBe(-22); // key_name is required
    expect(JSON.parse((await command('restful list-keys')).stdout)).toEqual({ admin: key });
  });

  it('serves HTTPS with the certificate from server_cert/server_key once they are set', async () => {
    await stack.csClient.setStore({ key: 'config/mgr/restful/server_cert', value: certs.serverCert });
    // PEM text works as well as a path.
    await stack.csClient.setStore({ key: 'config/mgr/restful/server_key', value: fs.readFileSync(certs.serverKey, 'utf8') });
    await until('HTTPS answering', async () => uri().startsWith('https://127.0.0.1:') && (await call('GET', '/')).status === 200);
    await until('check cleared', () => !mh.host.healthChecks().some((c) => c.code === 'MGR_RESTFUL_ERROR'));
    const root = await call('GET', '/');
    expect(root.status).toBe(200);
    expect(root.body.api_version).toBe(1);
  });

  it('refuses clients that do not trust the certificate, and plain HTTP on the TLS port', async () => {
    await expect(call('GET', '/', { ca: fs.readFileSync(certs.rogueClientCert, 'utf8') })).rejects.toThrow(/self[- ]signed|unable to verify|certificate/i);
    await expect(call('GET', '/', { base: uri().replace('https:', 'http:') })).rejects.toThrow();
  });

  it("answers 401 with Ceph's messages without credentials, with a wrong key or an unknown user, on every endpoint but / and /doc", async () => {
    const cases: Array<[any, string]> = [
      [null, 'auth: No HTTP username/password'],
      ['Bearer abc', 'auth: No HTTP username/password'],
      [`Basic ${Buffer.from('no-colon').toString('base64')}`, 'auth: No HTTP username/password'],
      [['nobody', key], 'auth: No such user'],
      [['admin', 'wrong'], 'auth: Incorrect password'],
    ];
    for (const [auth, message] of cases) {
      const r = await call('GET', '/osd', { auth });
      expect([r.status, r.body.message, r.headers['www-authenticate']]).toEqual([401, message, 'Basic realm="Login Required"']);
    }
    // Every path of Ceph's API (with each of its methods) is refused without a key, writes included.
    const paths: Array<[string, string]> = [
      ['GET', '/config/cluster'],
      ['GET', '/config/cluster/fsid'],
      ['GET', '/config/osd'],
      ['PATCH', '/config/osd'],
      ['GET', '/crush/rule'],
      ['GET', '/mon'],
      ['GET', '/mon/a'],
      ['GET', '/osd'],
      ['GET', '/osd/0'],
      ['PATCH', '/osd/0'],
      ['GET', '/osd/0/command'],
      ['POST', '/osd/0/command'],
      ['GET', '/perf'],
      ['GET', '/pool'],
      ['POST', '/pool'],
      ['GET', '/pool/1'],
      ['PATCH', '/pool/1'],
      ['DELETE', '/pool/1'],
      ['GET', '/request'],
      ['POST', '/request'],
      ['DELETE', '/request'],
      ['GET', '/request/1'],
      ['DELETE', '/request/1'],
      ['GET', '/server'],
      ['GET', '/server/vm'],
    ];
    for (const [method, p] of paths) {
      const r = await call(method, p, { auth: null, body: method === 'GET' || method === 'DELETE' ? undefined : '{}' });
      expect([method, p, r.status]).toEqual([method, p, 401]);
    }
    // As in Ceph, the API's description and its documentation need no key.
    expect((await call('GET', '/', { auth: null })).body).toEqual({
      api_version: 1,
      auth: 'Use "ceph restful create-key <key>" to create a key pair, pass it as HTTP Basic auth to authenticate',
      doc: 'See /doc endpoint',
      info: 'Ceph Manager RESTful API server',
    });
    const doc = await call('GET', '/doc', { auth: null });
    expect(doc.status).toBe(200);
    expect(Object.keys(doc.body).sort()).toEqual(Object.keys(API_DOC).sort());
    expect(doc.body['/pool/<arg>']).toEqual({
      DELETE: ['Remove the pool data for the pool id'],
      GET: ['Show the information for the pool id'],
      PATCH: ['Modify the information for the pool id'],
    });
  });

  it("GET /server, /server/<fqdn>, /osd[?pool=], /osd/<id>, /osd/<id>/command, /pool, /pool/<id>, /mon, /mon/<name>, /crush/rule, /config/*, /perf in Ceph's shapes", async () => {
    const host = stack.sim.hostName(0);
    const servers = await call('GET', '/server');
    expect(servers.status).toBe(200);
    expect(servers.body.map((s: any) => s.hostname)).toContain(host);
    const server = await call('GET', `/server/${host}`);
    expect(server.body.services.map((s: any) => `${s.type}.${s.id}`)).toEqual(expect.arrayContaining(['osd.0', 'osd.1', 'osd.2']));

    // /osd: the osd map's OSDs with pools (through the CRUSH rule), server, reweight and valid_commands.
    const osds = (await call('GET', '/osd')).body;
    const simPools = stack.sim.osdMap().pools;
    expect(osds.map((o: any) => o.osd)).toEqual(stack.sim.osds.map((o) => o.id));
    expect(osds[0]).toMatchObject({ server: host, reweight: 1, valid_commands: ['scrub', 'deep-scrub', 'repair'] });
    expect(osds[0].pools.sort()).toEqual(simPools.map((p: any) => p.pool).sort());
    for (const k of ['up', 'in', 'weight', 'uuid', 'public_addr', 'state']) expect(osds[0]).toHaveProperty(k);
    expect((await call('GET', `/osd?pool=${simPools[0].pool}`)).body).toHaveLength(3);
    expect((await call('GET', '/osd?pool=4242')).body).toEqual([]);
    const osd1 = await call('GET', '/osd/1');
    expect(osd1.body).toMatchObject({ osd: 1, server: host, valid_commands: ['scrub', 'deep-scrub', 'repair'] });
    expect(await call('GET', '/osd/99')).toMatchObject({ status: 500, body: { message: 'Failed to identify the OSD id "99"' } });
    expect((await call('GET', '/osd/abc')).status).toBe(400);
    expect((await call('GET', '/osd/1/command')).body).toEqual(['scrub', 'deep-scrub', 'repair']);

    // /pool: the osd map's pools, pg_placement_num shown as pgp_num.
    const pools = (await call('GET', '/pool')).body;
    expect(pools.map((p: any) => p.pool_name)).toEqual(simPools.map((p: any) => p.pool_name));
    expect(pools[0].pgp_num).toBe(simPools[0].pg_placement_num);
    expect(pools[0]).not.toHaveProperty('pg_placement_num');
    const one = (await call('GET', `/pool/${simPools[1].pool}`)).body;
    expect([one.pool_name, one.pgp_num, one.size]).toEqual([simPools[1].pool_name, simPools[1].pg_placement_num, simPools[1].size]);
    expect(await call('GET', '/pool/4242')).toMatchObject({ status: 500, body: { message: 'Failed to identify the pool id "4242"' } });

    const mons = (await call('GET', '/mon')).body;
    expect(mons.map((m: any) => [m.name, m.in_quorum, m.leader, m.server])).toEqual([['a', true, true, host]]);
    expect((await call('GET', '/mon/a')).body.rank).toBe(0);
    expect(await call('GET', '/mon/zz')).toMatchObject({ status: 500, body: { message: 'Failed to identify the monitor node "zz"' } });

    const rules = (await call('GET', '/crush/rule')).body;
    expect(rules.map((r: any) => [r.rule_name, r.osd_count])).toEqual([['replicated_rule', 3]]);
    expect(rules[0].steps.map((x: any) => x.op)).toEqual(['take', 'choose_firstn', 'emit']);

    // get('config'): the manager's running config, one key of it, null for no such key.
    const config = (await call('GET', '/config/cluster')).body;
    expect(config.fsid).toBe(stack.sim.fsid);
    expect(Object.keys(config).length).toBeGreaterThan(1000);
    expect((await call('GET', '/config/cluster/osd_pool_default_size')).body).toBe('3');
    expect((await call('GET', '/config/cluster/no_such_option')).body).toBeNull();
    expect((await call('GET', '/config/osd')).body).toEqual(['sortbitwise', 'recovery_deletes', 'purged_snapdirs', 'pglog_hardlimit']);

    const perf = await call('GET', '/perf?daemon=osd\\.1');
    expect(Object.keys(perf.body)).toEqual(['osd.1']);
    expect((await call('GET', '/perf?daemon=sd')).body).toEqual({}); // re.match: anchored at the start
  });

  it('unknown paths are 404, wrong methods 405, both as JSON', async () => {
    for (const p of ['/nope', '/osd/1/extra', '/config/nope', '/crush', '/doc/x']) {
      const r = await call('GET', p);
      expect(r.status).toBe(404);
      expect(r.body.message).toMatch(/no such endpoint/);
    }
    const r = await call('POST', '/osd', { body: '{}' });
    expect(r.status).toBe(405);
    expect(r.headers.allow).toBe('GET');
    expect((await call('PUT', '/request')).headers.allow).toBe('GET, POST, DELETE');
    expect((await call('POST', '/pool/1', { body: '{}' })).headers.allow).toBe('GET, PATCH, DELETE');
  });

  it("POST /request: bad JSON is 400, Ceph's wrong batch form 500, an oversized body 413", async () => {
    const bad = await call('POST', '/request', { body: '{"prefix": ' });
    expect([bad.status, bad.body.message]).toEqual([400, 'Bad request: malformed JSON or wrong Content-Type']);
    expect((await call('POST', '/request', { body: '{"noprefix": 1}' })).status).toBe(400);
    expect((await call('POST', '/request', { body: '"osd dump"' })).status).toBe(400);
    const flat = await call('POST', '/request', { body: JSON.stringify([{ prefix: 'osd stat' }]) });
    expect([flat.status, flat.body.message]).toEqual([500, 'The request format should be [[{c1},{c2}]]']);
    const big = await call('POST', '/request', { body: JSON.stringify({ prefix: 'osd dump', pad: 'x'.repeat(1100000) }) }).catch((e) => e as Error);
    // Over 1 MiB: 413 with a JSON message (or the connection cut while still sending).
    if (big instanceof Error) expect(big.message).toMatch(/ECONNRESET|EPIPE|socket hang up/);
    else expect([big.status, big.body.message]).toEqual([413, 'request body over 1048576 bytes']);
  });

  it("POST /request runs a command; GET /request/<id> polls it in Ceph's shape; DELETE /request[/<id>]", async () => {
    const posted = await call('POST', '/request', { body: JSON.stringify({ prefix: 'osd stat', format: 'json' }) });
    expect(posted.status).toBe(200);
    expect(Object.keys(posted.body).sort()).toEqual(['failed', 'finished', 'has_failed', 'id', 'is_finished', 'is_waiting', 'running', 'state', 'waiting']);
    const id = posted.body.id;
    expect(id).toMatch(/^\d+$/);
    const done = await until('request finished', async () => {
      const r = await call('GET', `/request/${id}`);
      return r.body.is_finished && r.body;
    });
    expect(done).toMatchObject({ state: 'success', has_failed: false, is_waiting: false, running: [], waiting: [], failed: [] });
    expect(done.finished).toHaveLength(1);
    expect(Object.keys(done.finished[0]).sort()).toEqual(['command', 'outb', 'outs']);
    expect(done.finished[0].command).toBe('osd stat format=json');
    expect(JSON.parse(done.finished[0].outb)).toMatchObject({ num_osds: 3, num_up_osds: 3, num_in_osds: 3 });
    expect((await call('GET', '/request')).body.map((r: any) => r.id)).toContain(id);
    expect((await call('GET', '/request?page=0')).body.map((r: any) => r.id)).toContain(id);
    expect((await call('GET', '/request?page=x')).status).toBe(500);
    expect(await call('GET', '/request/nonexistent')).toMatchObject({ status: 500, body: { message: 'Unknown request id "nonexistent"' } });
    expect((await call('DELETE', `/request/${id}`)).body.id).toBe(id);
    expect((await call('GET', `/request/${id}`)).status).toBe(500);
    expect(await call('DELETE', `/request/${id}`)).toMatchObject({ status: 500, body: { message: 'No such request id' } });
    // DELETE /request forgets the finished ones and counts.
    await call('POST', '/request?wait=1', { body: JSON.stringify({ prefix: 'osd stat' }) });
    const cleaned = await call('DELETE', '/request');
    expect(cleaned.body.cleaned).toBeGreaterThanOrEqual(1);
    expect(cleaned.body.remaining).toBe(0);
  });

  it("runs Ceph's batch form POST /request [[...],[...]]: a wave in parallel, then the next", async () => {
    const r = await call('POST', '/request?wait=1', {
      body: JSON.stringify([
        [
          { prefix: 'osd set', key: 'nodown' },
          { prefix: 'osd set', key: 'noin' },
        ],
        [{ prefix: 'osd dump', format: 'json' }],
      ]),
    });
    expect(r.body.state).toBe('success');
    expect(r.body.finished.map((c: any) => c.command)).toEqual(expect.arrayContaining(['osd set key=nodown', 'osd set key=noin', 'osd dump format=json']));
    // The dump ran after both flags were set.
    expect(JSON.parse(r.body.finished[2].outb).flags).toMatch(/nodown,noin/);
    const pending = await call('POST', '/request', {
      body: JSON.stringify([[{ prefix: 'osd unset', key: 'nodown' }], [{ prefix: 'osd unset', key: 'noin' }]]),
    });
    // Ceph's shape while waves wait: waiting is a list of waves of command lines.
    expect(pending.body.waiting).toEqual([['osd unset key=noin']]);
    await until('unset', async () => (await call('GET', `/request/${pending.body.id}`)).body.is_finished);
  });

  it('runs module commands (hello) and restful commands; an unknown prefix fails with -22', async () => {
    const r = await call('POST', '/request?wait=1', {
      body: JSON.stringify([
        [{ prefix: 'hello', person_name: 'REST' }],
        [{ prefix: 'pg stat', format: 'json' }],
        [{ prefix: 'restful list-keys' }],
        [{ prefix: 'no such thing' }],
      ]),
    });
    expect(r.body.state).toBe('failed');
    expect(r.body.finished.map((c: any) => c.outb.slice(0, 11))).toEqual(['Hello REST', expect.stringContaining('{'), expect.stringContaining('{')]);
    expect(JSON.parse(r.body.finished[1].outb).pg_summary.num_pgs).toBe(stack.sim.pgs.length);
    expect(r.body.failed).toHaveLength(1);
    expect(r.body.failed[0].outs).toMatch(/^No handler found for 'no such thing'/);
  });

  it("runs the manager's commands through daemon-server: its output, its argument checks", async () => {
    // osd df is daemon-server's own command: /request answers what it answers.
    const r = await call('POST', '/request?wait=1', { body: JSON.stringify([[{ prefix: 'osd df', format: 'json' }, { prefix: 'pg stat' }]]) });
    expect(r.body.state).toBe('success');
    const direct = await command('osd df', { format: 'json' });
    expect(direct.retcode).toBe(0);
    const df = r.body.finished.find((c: any) => c.command.startsWith('osd df'));
    expect(JSON.parse(df.outb).nodes.map((n: any) => n.id)).toEqual(JSON.parse(direct.stdout).nodes.map((n: any) => n.id));
    expect(r.body.finished.find((c: any) => c.command === 'pg stat').outb).toMatch(new RegExp(`^${stack.sim.pgs.length} pgs: `));
    // Arguments are validated against the descriptors, as for any client.
    const bad = await call('POST', '/request?wait=1', {
      body: JSON.stringify([
        [
          { prefix: 'hello count', num: 'many' },
          { prefix: 'osd df', output_method: 'sideways' },
        ],
      ]),
    });
    expect(bad.body.failed).toHaveLength(2);
    for (const f of bad.body.failed) expect(f.outs).toMatch(/^Invalid command: /);
  });

  it('POST /pool creates a pool (then sets its properties), PATCH /pool/<id> changes it, DELETE /pool/<id> removes it; each visible in a following GET', async () => {
    const created = await call('POST', '/pool?wait=1', { body: JSON.stringify({ name: 'restpool', pg_num: 8, size: 2, quota_max_objects: 1000 }) });
    expect(created.status).toBe(200);
    expect(created.body.state).toBe('success');
    expect(created.body.finished.map((c: any) => c.command)).toEqual([
      'osd pool create pool=restpool pg_num=8',
      'osd pool set pool=restpool var=size val=2',
      'osd pool set-quota pool=restpool field=max_objects val=1000',
    ]);
    expect(created.body.finished[0].outs).toBe("pool 'restpool' created");
    const pool = (await call('GET', '/pool')).body.find((p: any) => p.pool_name === 'restpool');
    expect(pool).toMatchObject({ pg_num: 8, pgp_num: 8, size: 2, min_size: 1, quota_max_objects: 1000 });

    // pg_num brings pgp_num along, in a second wave.
    const patched = await call('PATCH', `/pool/${pool.pool}?wait=1`, { body: JSON.stringify({ pg_num: 16, min_size: 2, quota_max_bytes: 1 << 30 }) });
    expect(patched.body.state).toBe('success');
    expect(patched.body.finished.map((c: any) => c.command).sort()).toEqual([
      'osd pool set pool=restpool var=min_size val=2',
      'osd pool set pool=restpool var=pg_num val=16',
      'osd pool set pool=restpool var=pgp_num val=16',
      'osd pool set-quota pool=restpool field=max_bytes val=1073741824',
    ]);
    expect((await call('GET', `/pool/${pool.pool}`)).body).toMatchObject({ pg_num: 16, pgp_num: 16, min_size: 2, quota_max_bytes: 1 << 30 });
    // A refused change is a failed request with the monitors' answer.
    const refused = await call('PATCH', `/pool/${pool.pool}?wait=1`, { body: JSON.stringify({ size: 1 }) });
    expect(refused.body.failed[0].outs).toBe('configuring pool size as 1 is disabled by default.');
    // Ceph's checks before anything is sent.
    expect(await call('PATCH', `/pool/${pool.pool}`, { body: JSON.stringify({ colour: 'red' }) })).toMatchObject({
      status: 500,
      body: { message: 'Invalid arguments found: "["colour"]"' },
    });
    expect(await call('PATCH', `/pool/${pool.pool}`, { body: '{oops' })).toMatchObject({
      status: 400,
      body: { message: 'Bad request: malformed JSON or wrong Content-Type' },
    });
    expect(await call('POST', '/pool', { body: JSON.stringify({ pg_num: 8 }) })).toMatchObject({
      status: 500,
      body: { message: 'You need to specify the pool "name" argument' },
    });
    expect(await call('POST', '/pool', { body: JSON.stringify({ name: 'x' }) })).toMatchObject({
      status: 500,
      body: { message: 'You need to specify the "pg_num" argument' },
    });

    const deleted = await call('DELETE', `/pool/${pool.pool}?wait=1`);
    expect(deleted.body.finished.map((c: any) => [c.command, c.outs])).toEqual([
      ['osd pool delete pool=restpool pool2=restpool yes_i_really_really_mean_it=True', "pool 'restpool' removed"],
    ]);
    expect((await call('GET', '/pool')).body.map((p: any) => p.pool_name)).not.toContain('restpool');
    // The file system's pools are refused by the monitors.
    const fsPool = (await call('GET', '/pool')).body.find((p: any) => p.pool_name === 'cephfs_data');
    const busy = await call('DELETE', `/pool/${fsPool.pool}?wait=1`);
    expect(busy.body.failed[0].outs).toBe("pool 'cephfs_data' is in use by CephFS");
  });

  it('PATCH /config/osd sets and clears flags (pause stands for pauserd,pausewr); GET shows them', async () => {
    const set = await call('PATCH', '/config/osd?wait=1', { body: JSON.stringify({ noout: true, pause: true, bogus: true }) });
    expect(set.body.state).toBe('success');
    expect(set.body.finished.map((c: any) => c.outs).sort()).toEqual(['noout is set', 'pauserd,pausewr is set']);
    expect((await call('GET', '/config/osd')).body).toEqual(['pause', 'noout', 'sortbitwise', 'recovery_deletes', 'purged_snapdirs', 'pglog_hardlimit']);
    const cleared = await call('PATCH', '/config/osd?wait=1', { body: JSON.stringify({ noout: false, pause: false }) });
    expect(cleared.body.state).toBe('success');
    expect((await call('GET', '/config/osd')).body).toEqual(['sortbitwise', 'recovery_deletes', 'purged_snapdirs', 'pglog_hardlimit']);
  });

  it('PATCH /osd/<id> marks it out/in, reweights it and marks it down; up:true is refused', async () => {
    const out = await call('PATCH', '/osd/2?wait=1', { body: JSON.stringify({ in: false, reweight: 0.5 }) });
    expect(out.body.finished.map((c: any) => c.outs).sort()).toEqual(['marked out osd.2. ', 'reweighted osd.2 to 0.5 (8000)']);
    expect((await call('GET', '/osd/2')).body).toMatchObject({ in: 0, weight: 0 });
    const back = await call('PATCH', '/osd/2?wait=1', { body: JSON.stringify({ in: true }) });
    expect(back.body.finished[0].outs).toBe('marked in osd.2. ');
    expect((await call('GET', '/osd/2')).body).toMatchObject({ in: 1, weight: 1 });
    expect(await call('PATCH', '/osd/2', { body: JSON.stringify({ up: true }) })).toMatchObject({
      status: 500,
      body: { message: 'It is not valid to set a down OSD to be up' },
    });
    const down = await call('PATCH', '/osd/2?wait=1', { body: JSON.stringify({ up: false }) });
    expect(down.body.finished[0].outs).toBe('marked down osd.2. ');
    const osd2 = (await call('GET', '/osd/2')).body;
    expect([osd2.up, osd2.valid_commands]).toEqual([0, []]);
    expect((await call('GET', '/osd/2/command')).body).toEqual([]);
    expect(await call('POST', '/osd/2/command', { body: JSON.stringify({ command: 'scrub' }) })).toMatchObject({
      status: 500,
      body: { message: 'Command "scrub" not available' },
    });
    // Back up for the tests that follow (a live OSD would boot by itself).
    await stack.feed.apply(() => ({ result: stack.sim.markOsdUp(2), changed: ['osd_map'] }));
  });

  it("POST /osd/<id>/command scrubs: the manager tells the OSD over its session (Ceph's MOSDScrub2)", async () => {
    const keyring = parseKeyring(fs.readFileSync(path.join(stack.dir, 'keyring'), 'utf8'));
    const osd0 = new MgrClient({
      address: ds.address,
      daemonName: 'osd.0',
      auth: { entity: 'client.admin', key: keyring.get('client.admin')!.key },
    });
    const scrubs: any[] = [];
    osd0.on('scrub', (m) => scrubs.push(m));
    osd0.start();
    try {
      await until('osd.0 session', () => ds.sessions.sessionCount > 0);
      const r = await call('POST', '/osd/0/command?wait=1', { body: JSON.stringify({ command: 'deep-scrub' }) });
      expect(r.body.finished.map((c: any) => [c.command, c.outs])).toEqual([['osd deep-scrub who=0', 'instructed osd(s) 0 to deep-scrub']]);
      await until('scrub received', () => scrubs.length > 0);
      expect(scrubs[0]).toMatchObject({ deep: true, repair: false });
      expect(await call('POST', '/osd/0/command', { body: JSON.stringify({ command: 'rm -rf' }) })).toMatchObject({
        status: 500,
        body: { message: 'Command "rm -rf" not available' },
      });
      // An OSD without a session here cannot be told.
      const none = await call('POST', '/osd/1/command?wait=1', { body: JSON.stringify({ command: 'scrub' }) });
      expect(none.body.failed[0].outs).toBe('osd.1 has no session with this manager');
    } finally {
      await osd0.stop();
    }
  });

  it('a deleted key stops working; keys survive a restart of module-host', async () => {
    const other = (await command('restful create-key', { key_name: 'ops' })).stdout;
    expect((await call('GET', '/pool', { auth: ['ops', other] })).status).toBe(200);
    expect((await command('restful delete-key', { key_name: 'ops' })).retcode).toBe(0);
    expect((await call('GET', '/pool', { auth: ['ops', other] })).status).toBe(401);

    await ds.stop();
    await stack.stopHost(mh);
    mh = await stack.startHost({ enabledModules: ['restful', 'hello'], keyringPath: path.join(stack.dir, 'keyring') });
    ds = await startDaemonServer({
      port: 0,
      metricsPort: -1,
      logLevel: 'error',
      clusterStateAddr: stack.cs.address,
      moduleHostAddr: mh.address,
      monAddr: monitor.address,
      keyringPath: path.join(stack.dir, 'keyring'),
    });
    mh.commands.setFallbackAddr(ds.address);
    dsClient = makeClient(DaemonServerServiceDefinition, openChannel(ds.address));
    await until('restful back', async () => uri().startsWith('https://') && (await call('GET', '/')).status === 200);
    expect((await call('GET', '/pool')).status).toBe(200);
    expect(JSON.parse((await command('restful list-keys')).stdout)).toEqual({ admin: key });
  }, 30000);

  it('create-self-signed-cert makes a certificate with openssl and serves it when no other is configured', async () => {
    const r = await command('restful create-self-signed-cert');
    expect(r.retcode).toBe(0);
    await stack.csClient.setStore({ key: 'config/mgr/restful/server_cert' });
    await stack.csClient.setStore({ key: 'config/mgr/restful/server_key' });
    const cn = await until('self-signed certificate served', async () => {
      const u = new URL(uri());
      const subject = await new Promise<string>((resolve, reject) => {
        const s = tls.connect({ host: u.hostname, port: Number(u.port), rejectUnauthorized: false }, () => {
          resolve(String(s.getPeerCertificate().subject?.CN));
          s.end();
        });
        s.on('error', reject);
      });
      return subject === 'ceph-restful' && subject;
    });
    expect(cn).toBe('ceph-restful');
  }, 30000);

  it('allow_plain_http serves plain HTTP when there is no certificate (development)', async () => {
    await stack.csClient.setStore({ key: 'mgr/restful/crt' });
    await stack.csClient.setStore({ key: 'mgr/restful/key' });
    await stack.csClient.setStore({ key: 'config/mgr/restful/allow_plain_http', value: 'true' });
    await until('HTTP answering', async () => uri().startsWith('http://') && (await call('GET', '/')).status === 200);
    const r = await call('GET', '/osd/0');
    expect(r.status).toBe(200);
    expect(r.body.osd).toBe(0);
    expect((await call('GET', '/osd/0', { auth: null })).status).toBe(401);
  }, 30000);

  it('a failure behind the API is a 500 with a JSON message', async () => {
    // Without cluster-state the daemon queries behind /server fail.
    await stack.cs.stop();
    const r = await call('GET', '/server');
    expect(r.status).toBe(500);
    expect(r.body.message).toMatch(/^internal error: /);
  }, 30000);
});
