import { startModuleStack } from './stack';
import { ADMIN, startInfluxd } from './influxd';
(async () => {
  const osds = Number(process.env.OSDS ?? 300);
  const influx = await startInfluxd();
  await influx.query('CREATE DATABASE ceph');
  const t0 = Date.now();
  const s = await startModuleStack({ modules: ['influx'], osds });
  console.log('stack up', Date.now() - t0, 'ms');
  for (const [k, v] of [
    ['hostname', '127.0.0.1'],
    ['port', influx.port],
    ['username', ADMIN.user],
    ['password', ADMIN.password],
    ['interval', 3600],
  ] as const)
    await s.command('influx config-set', { key: k, value: String(v) });
  for (let i = 0; i < 3; i++) {
    const t = Date.now();
    const r = await s.command('influx send');
    console.log('send', r.retcode, r.stdout || r.stderr, Date.now() - t, 'ms');
  }
  await s.close();
  await influx.stop();
})().catch((e) => {
  console.error(e);
  process.exit(1);
});
