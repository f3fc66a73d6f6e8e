import * as fs from 'fs';
import { createClient } from 'nice-grpc';
import { HealthDefinition } from 'nice-grpc-server-health';
import { startService, RunningService } from '../server';
import { openChannel } from '../client';
import { makeTestCerts, TestCerts } from '../testing/certs';

async function healthStatus(address: string, tls: Parameters<typeof openChannel>[1]): Promise<number> {
  const ch = openChannel(address, tls);
  try {
    const res = await createClient(HealthDefinition, ch).check({ service: '' }, { signal: AbortSignal.timeout(5000) });
    return res.status;
  } finally {
    ch.close();
  }
}

describe('TLS and mutual TLS on the shared bootstrap', () => {
  let certs: TestCerts;
  let tlsSvc: RunningService;
  let mtlsSvc: RunningService;

  beforeAll(async () => {
    certs = makeTestCerts();
    tlsSvc = await startService(
      { name: 'tls', host: '127.0.0.1', port: 0, metricsPort: -1, logLevel: 'warn', tls: { cert: certs.serverCert, key: certs.serverKey }, auth: null },
      () => [],
    );
    mtlsSvc = await startService(
      {
        name: 'mtls',
        host: '127.0.0.1',
        port: 0,
        metricsPort: -1,
        logLevel: 'warn',
        tls: { cert: certs.serverCert, key: certs.serverKey, ca: certs.ca, clientAuth: true },
        auth: null,
      },
      () => [],
    );
    tlsSvc.setServing(true);
    mtlsSvc.setServing(true);
  });
  afterAll(async () => {
    await Promise.all([tlsSvc.stop(), mtlsSvc.stop()]);
    fs.rmSync(certs.dir, { recursive: true, force: true });
  });

  it('serves TLS to a client that trusts the CA', async () => {
    expect(await healthStatus(tlsSvc.address, { ca: certs.ca })).toBe(1);
  });

  it('refuses a plaintext client on a TLS port', async () => {
    await expect(healthStatus(tlsSvc.address, undefined)).rejects.toThrow(/UNAVAILABLE/);
  });

  it('mutual TLS: accepts a client certificate signed by the CA', async () => {
    expect(await healthStatus(mtlsSvc.address, { ca: certs.ca, cert: certs.clientCert, key: certs.clientKey })).toBe(1);
  });

  it('mutual TLS: refuses a client without a certificate, or with one from another CA', async () => {
    await expect(healthStatus(mtlsSvc.address, { ca: certs.ca })).rejects.toThrow(/UNAVAILABLE/);
    await expect(healthStatus(mtlsSvc.address, { ca: certs.ca, cert: certs.rogueClientCert, key: certs.rogueClientKey })).rejects.toThrow(/UNAVAILABLE/);
  });

  it('checks the name the certificate carries: an address it does not name is refused unless serverName names it', async () => {
    // 127.0.0.2 is loopback too, but not among the certificate's names (as a pod IP is not among a service's).
    const other = await startService(
      { name: 'other-ip', host: '127.0.0.2', port: 0, metricsPort: -1, logLevel: 'warn', tls: { cert: certs.serverCert, key: certs.serverKey }, auth: null },
      () => [],
    );
    try {
      other.setServing(true);
      await expect(healthStatus(other.address, { ca: certs.ca })).rejects.toThrow(/UNAVAILABLE/);
      expect(await healthStatus(other.address, { ca: certs.ca, serverName: 'localhost' })).toBe(1);
      await expect(healthStatus(other.address, { ca: certs.ca, serverName: 'elsewhere' })).rejects.toThrow(/UNAVAILABLE/);
    } finally {
      await other.stop();
    }
  });

  it('says plainly when TLS is misconfigured', async () => {
    await expect(
      startService({ name: 'bad', host: '127.0.0.1', port: 0, metricsPort: -1, tls: { cert: certs.serverCert }, auth: null }, () => []),
    ).rejects.toThrow(/without its key/);
  });
});
