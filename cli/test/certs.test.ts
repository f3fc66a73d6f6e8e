// `mgrctl certs`: the CA and per-service certificates a deployment's mutual
// TLS runs on, checked as X.509 (names, usages, signature, file modes) and
// used for real by a gRPC server requiring client certificates.
import * as crypto from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { createClient } from 'nice-grpc';
import { HealthDefinition } from 'nice-grpc-server-health';
import { startService, RunningService, TlsOptions } from '../../lib/server';
import { openChannel } from '../../lib/client';
import { runCaptured } from '../mgrctl';
import { makeTestCerts } from '../../lib/testing/certs';

async function healthStatus(address: string, tls: TlsOptions): Promise<number> {
  const ch = openChannel(address, tls);
  try {
    return (await createClient(HealthDefinition, ch).check({ service: '' }, { signal: AbortSignal.timeout(5000) })).status;
  } finally {
    ch.close();
  }
}

describe('mgrctl certs', () => {
  let dir: string;
  const file = (f: string) => path.join(dir, f);
  const x509 = (name: string) => new crypto.X509Certificate(fs.readFileSync(file(`${name}.crt`)));

  beforeAll(async () => {
    dir = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'mgrpc-certs-')), 'tls');
    const r = await runCaptured(['certs', dir, '--namespace', 'mgrpc', '--password', 'mgrpc-standby', 'cluster-state', 'standby'], {});
    expect(r).toMatchObject({ code: 0, stdout: `${dir}: made ca, cluster-state, standby, mgrpc-standby.password\n` });
  });
  afterAll(() => fs.rmSync(path.dirname(dir), { recursive: true, force: true }));

  it('makes a CA and a certificate per name, every file 0600, signed by the CA', () => {
    expect(fs.statSync(dir).mode & 0o777).toBe(0o700);
    for (const f of ['ca.crt', 'ca.key', 'cluster-state.crt', 'cluster-state.key', 'standby.crt', 'standby.key', 'mgrpc-standby.password']) {
      expect([f, fs.statSync(file(f)).mode & 0o777]).toEqual([f, 0o600]);
    }
    expect(fs.readFileSync(file('mgrpc-standby.password'), 'utf8')).toMatch(/^[A-Za-z0-9_-]{32}\n$/);
    const ca = x509('ca');
    expect(ca.ca).toBe(true);
    expect(ca.verify(ca.publicKey)).toBe(true);
    const cs = x509('cluster-state');
    expect(cs.ca).toBe(false);
    expect(cs.verify(ca.publicKey)).toBe(true);
    expect(cs.checkIssued(ca)).toBe(true);
    // Both usages: it serves TLS and is the client certificate of the same service's calls.
    expect(cs.keyUsage).toEqual(expect.arrayContaining(['1.3.6.1.5.5.7.3.1', '1.3.6.1.5.5.7.3.2']));
  });

  it('names the service, its Kubernetes DNS names and loopback, and nothing else', () => {
    const cs = x509('cluster-state');
    expect(cs.subject).toBe('CN=cluster-state');
    for (const host of ['cluster-state', 'cluster-state.mgrpc', 'cluster-state.mgrpc.svc', 'cluster-state.mgrpc.svc.cluster.local', 'localhost']) {
      expect(cs.checkHost(host)).toBe(host);
    }
    expect(cs.checkIP('127.0.0.1')).toBe('127.0.0.1');
    expect(cs.checkHost('standby')).toBeUndefined();
    expect(cs.checkIP('10.0.0.1')).toBeUndefined();
  });

  it('keeps what exists, adds what is missing, and re-issues on --renew (rotation: same CA, new key)', async () => {
    const before = { ca: x509('ca').serialNumber, cs: x509('cluster-state').serialNumber, key: fs.readFileSync(file('cluster-state.key'), 'utf8') };
    const password = fs.readFileSync(file('mgrpc-standby.password'), 'utf8');
    expect(await runCaptured(['certs', dir, '--namespace', 'mgrpc', '--password', 'mgrpc-standby', 'cluster-state', 'etcd'], {})).toMatchObject({
      code: 0,
      stdout: `${dir}: made etcd; kept ca, cluster-state, mgrpc-standby.password\n`,
    });
    expect(fs.readFileSync(file('mgrpc-standby.password'), 'utf8')).toBe(password);
    expect(x509('cluster-state').serialNumber).toBe(before.cs);
    expect(await runCaptured(['certs', dir, '--namespace', 'mgrpc', '--renew', 'cluster-state'], {})).toMatchObject({
      code: 0,
      stdout: `${dir}: made cluster-state; kept ca\n`,
    });
    expect(x509('ca').serialNumber).toBe(before.ca);
    expect(x509('cluster-state').serialNumber).not.toBe(before.cs);
    expect(fs.readFileSync(file('cluster-state.key'), 'utf8')).not.toBe(before.key);
    expect(x509('cluster-state').verify(x509('ca').publicKey)).toBe(true);
  });

  it('--ca-dir keeps the CA key out of the folder the services mount; a CA change re-issues every certificate', async () => {
    const other = path.join(path.dirname(dir), 'split');
    const caDir = path.join(path.dirname(dir), 'ca');
    expect(await runCaptured(['certs', other, `--ca-dir=${caDir}`, 'standby'], {})).toMatchObject({ code: 0, stdout: `${other}: made ca, standby\n` });
    expect(fs.readdirSync(other).sort()).toEqual(['ca.crt', 'standby.crt', 'standby.key']);
    expect(fs.readdirSync(caDir).sort()).toEqual(['ca.crt', 'ca.key']);
    const standby = new crypto.X509Certificate(fs.readFileSync(path.join(other, 'standby.crt')));
    expect(standby.verify(new crypto.X509Certificate(fs.readFileSync(path.join(other, 'ca.crt'))).publicKey)).toBe(true);
    // A new CA (the old one withdrawn): certificates it did not sign are made again.
    fs.rmSync(caDir, { recursive: true });
    expect(await runCaptured(['certs', other, '--ca-dir', caDir, 'standby'], {})).toMatchObject({ code: 0, stdout: `${other}: made ca, standby\n` });
    expect(
      new crypto.X509Certificate(fs.readFileSync(path.join(other, 'standby.crt'))).verify(
        new crypto.X509Certificate(fs.readFileSync(path.join(caDir, 'ca.crt'))).publicKey,
      ),
    ).toBe(true);
  });

  it('--ip adds an address to every certificate; a certificate whose names changed is made again', async () => {
    const before = x509('standby').serialNumber;
    expect(await runCaptured(['certs', dir, '--namespace', 'mgrpc', '--ip', '10.0.0.5', 'standby'], {})).toMatchObject({
      code: 0,
      stdout: `${dir}: made standby; kept ca\n`,
    });
    expect(x509('standby').serialNumber).not.toBe(before);
    expect(x509('standby').checkIP('10.0.0.5')).toBe('10.0.0.5');
    expect(x509('standby').checkHost('standby.mgrpc.svc')).toBe('standby.mgrpc.svc');
    expect(await runCaptured(['certs', dir, '--namespace=mgrpc', '--ip=10.0.0.5', 'standby'], {})).toMatchObject({
      code: 0,
      stdout: `${dir}: nothing to make; kept ca, standby\n`,
    });
    expect((await runCaptured(['certs', dir, '--ip', 'not-an-ip', 'standby'], {})).stderr).toMatch(/--ip 'not-an-ip': expected an IPv4 or IPv6 address/);
  });

  it('refuses bad names and missing arguments with usage', async () => {
    for (const argv of [
      ['certs'],
      ['certs', dir],
      ['certs', dir, 'Bad_Name'],
      ['certs', dir, 'ca'],
      ['certs', dir, '--bogus', 'x'],
      ['certs', dir, '--namespace', 'a.b', 'x'],
    ]) {
      const r = await runCaptured(argv, {});
      expect([argv.join(' '), r.code]).toEqual([argv.join(' '), 22]);
      expect(r.stderr).toMatch(/usage: mgrctl certs|expected a DNS label|unknown option or missing value/);
    }
  });

  describe('used for mutual TLS', () => {
    let svc: RunningService;
    beforeAll(async () => {
      svc = await startService(
        {
          name: 'cluster-state',
          host: '127.0.0.1',
          port: 0,
          metricsPort: -1,
          logLevel: 'warn',
          tls: { cert: file('cluster-state.crt'), key: file('cluster-state.key'), ca: file('ca.crt'), clientAuth: true },
          auth: null,
        },
        () => [],
      );
      svc.setServing(true);
    });
    afterAll(() => svc.stop());

    it("a service's certificate is accepted as a client certificate, by IP and by name", async () => {
      const asStandby = { ca: file('ca.crt'), cert: file('standby.crt'), key: file('standby.key') };
      expect(await healthStatus(svc.address, asStandby)).toBe(1);
      expect(await healthStatus(`localhost:${svc.port}`, asStandby)).toBe(1);
    });

    it('refuses a client without a certificate or with one of another CA, and a client that trusts another CA', async () => {
      const other = makeTestCerts();
      try {
        await expect(healthStatus(svc.address, { ca: file('ca.crt') })).rejects.toThrow(/UNAVAILABLE/);
        await expect(healthStatus(svc.address, { ca: file('ca.crt'), cert: other.rogueClientCert, key: other.rogueClientKey })).rejects.toThrow(/UNAVAILABLE/);
        await expect(healthStatus(svc.address, { ca: other.ca, cert: file('standby.crt'), key: file('standby.key') })).rejects.toThrow(/UNAVAILABLE/);
      } finally {
        fs.rmSync(other.dir, { recursive: true, force: true });
      }
    });
  });
});
