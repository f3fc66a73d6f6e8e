// The restful module with a real HTTPS client: cluster-state fed by the
// simulator, a module-host running restful (and hello, for module commands),
// and a daemon-server in front of it, so `restful create-key` goes through
// the real command path. Certificates are made with openssl by the test.
import * as fs from 'fs';
import * as https from 'https';
import * as http from 'http';
import * as path from 'path';
import * as tls from 'tls';
import { Metadata } from 'nice-grpc';
import { openChannel, makeClient } from '../../../lib/client';
import { DaemonServerServiceDefinition } from '../../../lib/gen/ceph/mgr/v1/daemon_server';
import { makeTestCerts, TestCerts } from '../../../lib/testing/certs';
import { startDaemonServer, DaemonServerHandle } from '../../../services/daemon-server/server';
import { parseKeyring } from '../../../lib/keyring';
import { ModuleHostHandle } from '../../../services/module-host/server';
import { startStack, until } from '../../prometheus/test/stack';

interface Reply {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: any;
}

describe('restful module', () => {
  let stack: Awaited<ReturnType<typeof startStack>>;
  let mh: ModuleHostHandle;
  let ds: DaemonServerHandle;
  let certs: TestCerts;
  let dsClient: ReturnType<typeof makeClient<typeof DaemonServerServiceDefinition>>;
  let admin: Metadata;
  let ca: string;
  let key = '';

  /** A command through daemon-server, as mgrctl sends it. */
  const command = async (prefix: string, args: Record<string, unknown> = {}) => {
    const res = await dsClient.command({ prefix, args: JSON.stringify({ prefix, ...args }), inbuf: Buffer.alloc(0) }, { metadata: admin });
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
    ds = await startDaemonServer({
      port: 0,
      metricsPort: -1,
      logLevel: 'error',
      clusterStateAddr: stack.cs.address,
      moduleHostAddr: mh.address,
      keyringPath: path.join(stack.dir, 'keyring'),
    });
    // restful's /request sends its commands to this daemon-server (sendCommand as mgr.x).
    mh.commands.setFallbackAddr(ds.address);
    dsClient = makeClient(DaemonServerServiceDefinition, openChannel(ds.address));
    const keyring = parseKeyring(fs.readFileSync(path.join(stack.dir, 'keyring'), 'utf8'));
    admin = Metadata();
    admin.set('x-mgr-entity', 'client.admin');
    admin.set('x-mgr-key', keyring.get('client.admin')!.key);
  }, 60000);

  afterAll(async () => {
    await ds?.stop();
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

  it('answers 401 with a JSON message without credentials, with a wrong key or an unknown user', async () => {
    for (const auth of [null, ['admin', 'wrong'], ['nobody', key], 'Bearer abc', `Basic ${Buffer.from('no-colon').toString('base64')}`] as const) {
      const r = await call('GET', '/osd', { auth: auth as any });
      expect(r.status).toBe(401);
      expect(typeof r.body.message).toBe('string');
      expect(r.headers['www-authenticate']).toBe('Basic realm="ceph-restful"');
    }
    expect((await call('GET', '/osd', { auth: null })).body.message).toMatch(/restful create-key/);
    expect((await call('GET', '/osd', { auth: ['admin', 'wrong'] })).body.message).toBe('wrong user or key');
  });

  it('GET /server, /server/<host>, /osd, /osd/<id>, /pool, /pool/<id>, /mon, /config/cluster', async () => {
    const servers = await call('GET', '/server');
    expect(servers.status).toBe(200);
    const host = stack.sim.hostName(0);
    expect(servers.body.map((s: any) => s.hostname)).toContain(host);
    const server = await call('GET', `/server/${host}`);
    expect(server.body.services.map((s: any) => `${s.type}.${s.id}`)).toEqual(expect.arrayContaining(['osd.0', 'osd.1', 'osd.2']));
    expect((await call('GET', '/server/no-such-host')).status).toBe(404);

    const osds = await call('GET', '/osd');
    expect(osds.body.map((o: any) => o.osd)).toEqual(stack.sim.osds.map((o) => o.id));
    expect(osds.body[0].server).toBe(host);
    expect((await call('GET', '/osd?up=0')).body).toEqual([]);
    expect((await call('GET', '/osd?up=maybe')).status).toBe(400);
    const osd1 = await call('GET', '/osd/1');
    expect(osd1.body.osd.osd).toBe(1);
    expect(osd1.body.osd_metadata.hostname).toBe(host);
    expect((await call('GET', '/osd/99')).status).toBe(404);
    const badId = await call('GET', '/osd/abc');
    expect(badId.status).toBe(400);
    expect(badId.body.message).toBe("OSD id must be a whole number, got 'abc'");

    const pools = (await call('GET', '/pool')).body;
    const simPools = stack.sim.osdMap().pools;
    expect(pools.map((p: any) => p.pool_name)).toEqual(simPools.map((p: any) => p.pool_name));
    expect((await call('GET', `/pool/${simPools[1].pool}`)).body.pool_name).toBe(simPools[1].pool_name);
    expect((await call('GET', '/pool/4242')).status).toBe(404);

    const mons = (await call('GET', '/mon')).body;
    expect(mons.map((m: any) => [m.name, m.in_quorum, m.leader])).toEqual([['a', true, true]]);
    expect((await call('GET', '/mon/a')).body.rank).toBe(0);
    expect((await call('GET', '/mon/zz')).status).toBe(404);
    const config = await call('GET', '/config/cluster');
    expect(config.status).toBe(200);
    expect(typeof config.body).toBe('object');
    expect((await call('GET', '/config/osd')).body.flags).toEqual(expect.arrayContaining(['sortbitwise']));
    const perf = await call('GET', '/perf?daemon=^osd\\.1$');
    expect(Object.keys(perf.body)).toEqual(['osd.1']);
  });

  it('unknown paths are 404, wrong methods 405, both as JSON', async () => {
    for (const p of ['/nope', '/osd/1/extra', '/config/nope']) {
      const r = await call('GET', p);
      expect(r.status).toBe(404);
      expect(r.body.message).toMatch(/no such endpoint/);
    }
    const r = await call('POST', '/osd', { body: '{}' });
    expect(r.status).toBe(405);
    expect(r.headers.allow).toBe('GET');
    expect((await call('PUT', '/request')).status).toBe(405);
  });

  it('POST /request: bad JSON and bad commands are 400', async () => {
    const bad = await call('POST', '/request', { body: '{"prefix": ' });
    expect(bad.status).toBe(400);
    expect(bad.body.message).toMatch(/^the body is not valid JSON/);
    expect((await call('POST', '/request', { body: '{"noprefix": 1}' })).status).toBe(400);
    expect((await call('POST', '/request', { body: '[]' })).status).toBe(400);
    expect((await call('POST', '/request', { body: '"osd dump"' })).status).toBe(400);
    const big = await call('POST', '/request', { body: JSON.stringify({ prefix: 'osd dump', pad: 'x'.repeat(1100000) }) }).catch((e) => e as Error);
    // Over 1 MiB: 413 with a JSON message (or the connection cut while still sending).
    if (big instanceof Error) expect(big.message).toMatch(/ECONNRESET|EPIPE|socket hang up/);
    else expect([big.status, big.body.message]).toEqual([413, 'request body over 1048576 bytes']);
  });

  it('POST /request runs a command and GET /request/<id> polls its result', async () => {
    const posted = await call('POST', '/request', { body: JSON.stringify({ prefix: 'osd stat' }) });
    expect(posted.status).toBe(200);
    const id = posted.body.id;
    const done = await until('request finished', async () => {
      const r = await call('GET', `/request/${id}`);
      return r.body.is_finished && r.body;
    });
    expect(done.state).toBe('success');
    expect(done.finished).toHaveLength(1);
    expect(done.finished[0].command).toBe('osd stat');
    expect(JSON.parse(done.finished[0].outb)).toMatchObject({ num_osds: 3, num_up_osds: 3, num_in_osds: 3 });
    expect((await call('GET', '/request')).body.map((r: any) => r.id)).toContain(id);
    expect((await call('GET', '/request/nonexistent')).status).toBe(404);
    expect((await call('DELETE', `/request/${id}`)).status).toBe(200);
    expect((await call('GET', `/request/${id}`)).status).toBe(404);
  });

  it('runs module commands (hello) and restful commands; an unknown prefix fails with -22', async () => {
    const r = await call('POST', '/request?wait=1', {
      body: JSON.stringify([
        { prefix: 'hello', person_name: 'REST' },
        { prefix: 'pg stat', format: 'json' },
        { prefix: 'restful list-keys' },
        { prefix: 'no such thing' },
      ]),
    });
    expect(r.body.state).toBe('failed');
    expect(r.body.finished.map((c: any) => c.outb.slice(0, 11))).toEqual(['Hello REST', expect.stringContaining('{'), expect.stringContaining('{')]);
    expect(JSON.parse(r.body.finished[1].outb).pg_summary.num_pgs).toBe(stack.sim.pgs.length);
    expect(r.body.failed).toHaveLength(1);
    expect(r.body.failed[0].r).toBe(-22);
    expect(r.body.failed[0].outs).toMatch(/^No handler found for 'no such thing'/);
  });

  it("runs the manager's commands through daemon-server: its output, its argument checks", async () => {
    // osd df is daemon-server's own command: /request answers what it answers.
    const r = await call('POST', '/request?wait=1', { body: JSON.stringify([{ prefix: 'osd df', format: 'json' }, { prefix: 'pg stat' }]) });
    expect(r.body.state).toBe('success');
    const direct = await command('osd df', { format: 'json' });
    expect(direct.retcode).toBe(0);
    const viaRest = JSON.parse(r.body.finished[0].outb);
    expect(viaRest.nodes.map((n: any) => n.id)).toEqual(JSON.parse(direct.stdout).nodes.map((n: any) => n.id));
    expect(viaRest.nodes).toHaveLength(stack.sim.osds.length);
    expect(r.body.finished[1].outb).toMatch(new RegExp(`^${stack.sim.pgs.length} pgs: `));
    // Arguments are validated against the descriptors, as for any client.
    const bad = await call('POST', '/request?wait=1', {
      body: JSON.stringify([
        { prefix: 'hello count', num: 'many' },
        { prefix: 'osd df', output_method: 'sideways' },
      ]),
    });
    expect(bad.body.failed.map((c: any) => c.r)).toEqual([-22, -22]);
    expect(bad.body.failed[0].outs).toMatch(/^Invalid command: /);
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
    expect(r.body.osd.osd).toBe(0);
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
