// Our msgr2 client connects to our msgr2 server, both through cephx with
// tickets from the real monitors of the project's test cluster: the server
// holds the rotating mgr secrets (fetched as a manager entity whose key
// ceph-authtool made), the client a mgr service ticket of client.admin.
// The server learns the peer's entity and caps from the ticket; messages
// go both ways; a server without the right secrets refuses the client.
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as net from 'net';
import * as os from 'os';
import * as path from 'path';
import { CephxClient } from '../cephx/client';
import { RotatingKeys } from '../cephx/rotating';
import { cephxServiceServer } from '../cephx/service-server';
import { Connection, WireCounters } from '../connection';
import { MsgType, type Message } from '../message';
import { MonClient } from '../monclient';
import { EntityType, v2Addr } from '../types';
import { createLogger } from '../../log';
import { formatKeyring, keyFromKeyring } from '../../keyring';
import { describeCeph, sharedCephCluster, type CephCluster } from '../../testing/ceph-cluster';
import { until } from '../../testing/wait';

const logger = createLogger({ test: 'server.live' }, 'warn');
const MGR = 'mgr.wiretest';

describeCeph(__filename)('our client to our server, through cephx tickets from live monitors', () => {
  let cluster: CephCluster;
  let mgrKey = '';
  const clients: MonClient[] = [];
  const servers: net.Server[] = [];
  const conns: Connection[] = [];

  const monitors = () =>
    cluster.mons.map((m) => {
      const i = m.v2.lastIndexOf(':');
      return { host: m.v2.slice(0, i), port: Number(m.v2.slice(i + 1)) };
    });
  const monClient = (auth: CephxClient) => {
    const mc = new MonClient({ monitors: monitors(), auth, logger });
    clients.push(mc);
    return mc;
  };
  /** A manager-side server: verifies authorizers with `keys`, echoes every message back with type + 1. */
  const serve = async (keys: RotatingKeys, counters: WireCounters) => {
    const srv = net.createServer();
    servers.push(srv);
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
    const port = (srv.address() as net.AddressInfo).port;
    const accepted: Connection[] = [];
    srv.on('connection', (s) => {
      const c = Connection.accept(s, {
        logger,
        entityType: EntityType.MGR,
        auth: () => cephxServiceServer({ keys }),
        myAddrs: [v2Addr('127.0.0.1', port)],
        counters,
      });
      accepted.push(c);
      conns.push(c);
      c.on('message', (m: Message) => c.sendMessage({ type: m.type + 1, version: 1, compatVersion: 1, front: m.front }));
    });
    return { port, accepted };
  };

  /** client.admin, authenticated with the monitors and holding a mgr service ticket. */
  const adminWithMgrTicket = async () => {
    const admin = new CephxClient({ entity: 'client.admin', key: keyFromKeyring(cluster.keyringPath, 'client.admin') });
    await monClient(admin).start();
    await until('a mgr ticket', () => !admin.missingTickets().includes('mgr'), 30_000);
    return admin;
  };

  beforeAll(async () => {
    cluster = await sharedCephCluster();
    // a manager entity with a key made by ceph-authtool, imported into the cluster
    const key = (mgrKey = execFileSync('ceph-authtool', ['--gen-print-key']).toString().trim());
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'wiretest-')), 'keyring');
    fs.writeFileSync(file, formatKeyring([{ entity: MGR, key, caps: { mon: 'allow profile mgr', osd: 'allow *', mds: 'allow *' } }]));
    const r = await cluster.run(['auth', 'import', '-i', file]);
    fs.rmSync(path.dirname(file), { recursive: true, force: true });
    if (r.code !== 0) throw new Error(`ceph auth import: ${r.stderr}`);
  }, 400_000);

  afterAll(async () => {
    for (const c of conns) c.close();
    for (const mc of clients) mc.stop();
    for (const s of servers) await new Promise<void>((r) => s.close(() => r()));
    if (cluster) await cluster.run(['auth', 'del', MGR]);
  });

  it('authenticates a client.admin authorizer, knows its entity and caps, and carries messages both ways', async () => {
    // the manager side: rotating mgr secrets from the monitors, as mgr.<name>
    const mgrAuth = new CephxClient({ entity: MGR, key: mgrKey, rotating: new RotatingKeys(EntityType.MGR) });
    await monClient(mgrAuth).start();
    await until('the rotating mgr secrets', () => (mgrAuth.rotating?.size ?? 0) > 0, 30_000);
    const counters = new WireCounters();
    const { port, accepted } = await serve(mgrAuth.rotating as RotatingKeys, counters);

    const admin = await adminWithMgrTicket();

    const c = await Connection.connect({
      logger,
      entityType: EntityType.CLIENT,
      host: '127.0.0.1',
      port,
      auth: admin.serviceSession(EntityType.MGR),
      peerType: EntityType.MGR,
      globalId: admin.globalId,
    });
    conns.push(c);
    const s = await until('the server side ready', () => accepted.find((x) => x.isReady));
    expect(s.peer).toMatchObject({ name: { type: EntityType.CLIENT, id: 'admin' }, globalId: admin.globalId });
    expect(s.peer?.caps?.mgr).toBe('allow *');

    const got: Message[] = [];
    c.on('message', (m: Message) => got.push(m));
    c.sendMessage({ type: MsgType.COMMAND, version: 1, compatVersion: 1, front: Buffer.from('{"prefix":"hello"}') });
    await until('the echo', () => got.length === 1);
    expect([got[0].type, got[0].front.toString()]).toEqual([MsgType.COMMAND_REPLY, '{"prefix":"hello"}']);
    expect(counters).toMatchObject({ authFailures: 0, signatureMismatches: 0, crcErrors: 0 });
  }, 180_000);

  it('a server without the mgr rotating secrets refuses the authorizer, with the reason logged and counted', async () => {
    const counters = new WireCounters();
    const { port } = await serve(new RotatingKeys(EntityType.MGR), counters);
    const admin = await adminWithMgrTicket();
    await expect(
      Connection.connect({
        logger,
        entityType: EntityType.CLIENT,
        host: '127.0.0.1',
        port,
        auth: admin.serviceSession(EntityType.MGR),
        peerType: EntityType.MGR,
      }),
    ).rejects.toMatchObject({ code: 'auth' });
    expect(counters.authFailures).toBe(1);
  }, 120_000);
});
