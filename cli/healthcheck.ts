// gRPC health probe for container healthchecks (there is no
// grpc_health_probe here): `node --import tsx cli/healthcheck.ts HOST:PORT
// [SERVICE]` exits 0 when the server reports SERVING, 1 otherwise.
import { createChannel, createClient } from 'nice-grpc';
import { HealthDefinition } from 'nice-grpc-server-health';
import { channelCredentials, tlsFromEnv } from '../lib/client';

async function main(): Promise<number> {
  const [address, service = ''] = process.argv.slice(2);
  if (!address || address === '--help' || address === '-h') {
    process.stderr.write('usage: healthcheck HOST:PORT [SERVICE]\n');
    return address ? 0 : 2;
  }
  const channel = createChannel(address, channelCredentials(tlsFromEnv()));
  try {
    const health = createClient(HealthDefinition, channel);
    const res = await health.check({ service }, { signal: AbortSignal.timeout(3000) });
    const serving = res.status === 1;
    process.stdout.write(`${address}${service ? ` ${service}` : ''}: ${serving ? 'SERVING' : 'NOT_SERVING'}\n`);
    return serving ? 0 : 1;
  } catch (e) {
    process.stdout.write(`${address}: unreachable (${(e as Error).message})\n`);
    return 1;
  } finally {
    channel.close();
  }
}

main().then((code) => process.exit(code));
