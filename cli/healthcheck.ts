// gRPC health probe for container healthchecks (there is no
// grpc_health_probe here): `node dist/cli/healthcheck.js HOST:PORT
// [SERVICE]` exits 0 when the server reports SERVING, 1 otherwise.
import { HealthDefinition } from 'nice-grpc-server-health';
import { connect, tlsFromEnv } from '../lib/client';

async function main(): Promise<number> {
  const [address, service = ''] = process.argv.slice(2);
  if (!address || address === '--help' || address === '-h') {
    process.stderr.write('usage: healthcheck HOST:PORT [SERVICE]\n');
    return address ? 0 : 2;
  }
  const { client: health, close } = connect(HealthDefinition, address, tlsFromEnv());
  try {
    const res = await health.check({ service }, { deadline: 3000 });
    const serving = res.status === 1;
    process.stdout.write(`${address}${service ? ` ${service}` : ''}: ${serving ? 'SERVING' : 'NOT_SERVING'}\n`);
    return serving ? 0 : 1;
  } catch (e) {
    process.stdout.write(`${address}: unreachable (${(e as Error).message})\n`);
    return 1;
  } finally {
    close();
  }
}

main().then((code) => process.exit(code));
