import { execFile } from 'child_process';
import { promisify } from 'util';
import { createChannel, createClient } from 'nice-grpc';
import { HealthDefinition } from 'nice-grpc-server-health';
import { startService, RunningService } from '../server';
import { loadConfig, ConfigError, COMMON_OPTIONS } from '../config';

const run = promisify(execFile);

describe('server bootstrap', () => {
  let svc: RunningService;
  beforeAll(async () => {
    svc = await startService({ name: 'test', host: '127.0.0.1', port: 0, logLevel: 'warn', auth: null }, () => []);
  });
  afterAll(() => svc.stop());

  it('reports NOT_SERVING until ready, then SERVING', async () => {
    const ch = createChannel(svc.address);
    const health = createClient(HealthDefinition, ch);
    expect((await health.check({ service: '' })).status).toBe(2);
    svc.setServing(true);
    expect((await health.check({ service: '' })).status).toBe(1);
    ch.close();
  });

  it('serves reflection so buf curl can list services', async () => {
    const { stdout } = await run('npx', ['buf', 'curl', '--protocol', 'grpc', '--http2-prior-knowledge', '--list-services', `http://${svc.address}`]);
    expect(stdout).toContain('grpc.health.v1.Health');
  });

  it('serves Prometheus metrics over HTTP', async () => {
    const res = await fetch(`http://127.0.0.1:${svc.metricsPort}/metrics`);
    expect(res.status).toBe(200);
    expect(await res.text()).toContain('process_cpu_seconds_total');
  });
});

describe('config', () => {
  it('reads env then flags, and rejects bad values with the variable named', () => {
    const cfg = loadConfig(COMMON_OPTIONS, ['--metrics-port', '9100'], { MGR_HOST: '::1', MGR_TLS_CLIENT_AUTH: 'yes' });
    expect(cfg.host).toBe('::1');
    expect(cfg.metricsPort).toBe(9100);
    expect(cfg.tlsClientAuth).toBe(true);
    expect(() => loadConfig(COMMON_OPTIONS, [], { MGR_METRICS_PORT: 'abc' })).toThrow(/MGR_METRICS_PORT: expected a whole number/);
    expect(() => loadConfig(COMMON_OPTIONS, ['--nope'])).toThrow(ConfigError);
  });
});
