// The etcd backend against a REAL etcd run as deployments run it: https
// only, client certificates required (--client-cert-auth), etcd's own
// authentication on, the standby's user limited to its prefix. A replica
// with the right certificate and password leads and writes the MgrMap; the
// same client options with a wrong password, no client certificate, a CA
// that did not sign etcd's certificate, or plain http are refused by etcd.
import * as fs from 'fs';
import * as path from 'path';
import { Etcd3 } from 'etcd3';
import { provisionCerts } from '../../../lib/auth/certs';
import { makeTestCerts, TestCerts } from '../../../lib/testing/certs';
import { etcdctl, startEtcd, SecureEtcdOptions, TestEtcd } from '../../../lib/testing/etcd';
import { EtcdAccess, etcdConnectOptions } from '../backends/etcd';
import { beacon, startTestStandby, tempDir, waitForMap } from './helpers';

const PREFIX = '/mgrpc/standby/';
const USER = 'mgrpc-standby';

describe('etcd backend over TLS with etcd authentication (real etcd)', () => {
  const dir = tempDir();
  const tls = path.join(dir, 'tls');
  const f = (name: string) => path.join(tls, name);
  const passwordFile = path.join(dir, 'etcd-password');
  let secure: SecureEtcdOptions;
  let etcd: TestEtcd;
  let rogue: TestCerts;
  let access: EtcdAccess;

  beforeAll(async () => {
    provisionCerts(tls, ['etcd', 'standby']);
    rogue = makeTestCerts();
    fs.writeFileSync(passwordFile, 'a-long-random-etcd-password\n', { mode: 0o600 });
    secure = { ca: f('ca.crt'), cert: f('etcd.crt'), key: f('etcd.key'), users: [{ name: USER, password: 'a-long-random-etcd-password', prefix: PREFIX }] };
    etcd = await startEtcd({ secure });
    access = { ca: f('ca.crt'), cert: f('standby.crt'), key: f('standby.key'), user: USER, passwordFile };
  });
  afterAll(async () => {
    await etcd?.stop();
    fs.rmSync(dir, { recursive: true, force: true });
    if (rogue) fs.rmSync(rogue.dir, { recursive: true, force: true });
  });

  /** What one read of `key` through etcd3 with these options gives: 'ok' or the error's message. */
  async function tryRead(endpoint: string, a: EtcdAccess, key = `${PREFIX}probe`): Promise<string> {
    const client = new Etcd3({
      hosts: endpoint,
      ...etcdConnectOptions([endpoint], a),
      dialTimeout: 5000,
      defaultCallOptions: () => ({ deadline: Date.now() + 5000 }),
    });
    try {
      await client.get(key).string();
      return 'ok';
    } catch (e) {
      return (e as Error).message;
    } finally {
      client.close();
    }
  }

  test('a replica with the right certificate and password leads and keeps the MgrMap in etcd', async () => {
    const r = await startTestStandby({ backend: 'etcd', etcdEndpoints: [etcd.endpoint], etcdPrefix: PREFIX, etcdAccess: access, etcdLeaseTtlS: 2 });
    try {
      await r.handle.backend.ready;
      expect(r.handle.backend.status().role).toBe('leader');
      expect((await r.client.beacon(beacon('x', 1))).mgrMap!.activeName).toBe('x');
      await waitForMap(r.client, (m) => m.activeName === 'x');
      // As etcd's root sees it: the map the replica wrote, under its prefix.
      const stored = await etcdctl(etcd.endpoint, secure, ['get', `${PREFIX}mgrmap`, '--print-value-only'], `root:${etcd.rootPassword}`);
      expect(JSON.parse(stored).activeName).toBe('x');
    } finally {
      await r.close();
    }
  });

  test('etcd refuses a wrong password, a read outside the prefix, no client certificate, and plain http; the client refuses a foreign CA', async () => {
    expect(await tryRead(etcd.endpoint, access)).toBe('ok');
    const wrong = path.join(dir, 'wrong-password');
    fs.writeFileSync(wrong, 'not-it\n', { mode: 0o600 });
    expect(await tryRead(etcd.endpoint, { ...access, passwordFile: wrong })).toMatch(/authentication failed|invalid user ID or password/);
    expect(await tryRead(etcd.endpoint, access, '/elsewhere/key')).toMatch(/permission denied/);
    // No password: etcd takes the certificate's name (CN=standby), which is no user of it.
    expect(await tryRead(etcd.endpoint, { ca: access.ca, cert: access.cert, key: access.key })).toMatch(/PERMISSION_DENIED: etcdserver: permission denied/);
    // The TLS handshake fails: no connection is ever established.
    expect(await tryRead(etcd.endpoint, { ca: access.ca, user: USER, passwordFile })).toMatch(/UNAVAILABLE: No connection established/);
    expect(await tryRead(etcd.endpoint, { ...access, ca: rogue.ca })).toMatch(/UNAVAILABLE: No connection established/);
    expect(await tryRead(etcd.endpoint.replace('https:', 'http:'), { user: USER, passwordFile })).toMatch(/UNAVAILABLE: No connection established/);
  });

  test('bad settings stop the start with a message naming the variable', async () => {
    const start = (a: EtcdAccess, endpoints = [etcd.endpoint]) =>
      startTestStandby({ backend: 'etcd', etcdEndpoints: endpoints, etcdPrefix: PREFIX, etcdAccess: a });
    await expect(start({ ...access, key: undefined })).rejects.toThrow(/both MGR_ETCD_CERT and MGR_ETCD_KEY/);
    await expect(start({ ...access, passwordFile: undefined })).rejects.toThrow(/MGR_ETCD_USER and MGR_ETCD_PASSWORD_FILE/);
    await expect(start({ ...access, passwordFile: path.join(dir, 'absent') })).rejects.toThrow(/cannot read the etcd password file .*absent/);
    await expect(start(access, [etcd.endpoint.replace('https:', 'http:')])).rejects.toThrow(/not https:\/\/ \(MGR_ETCD_ENDPOINTS\)/);
  });
});
