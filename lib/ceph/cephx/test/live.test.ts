// Live, on the project's Pacific test cluster: our cephx client through
// real msgr2 connections to a real monitor, as client.admin and as a
// manager entity made with `ceph auth get-or-create`. Each MAuth request
// is sent by hand, so every cephx step is checked on its own: the
// handshake, the rotating mgr secrets, service tickets
// (GET_PRINCIPAL_SESSION_KEY), the auth ticket's renewal over MAuth
// (GET_AUTH_SESSION_KEY answering the session's challenge again, which a
// real client only does after 54 hours: the client's clock is moved), a
// monitor-made mgr ticket verified with the fetched secrets, and refusals.
import { AuthMethod, type AuthClientSession, type AuthServerSession } from '../../auth';
import { Connection, ConnectionError } from '../../connection';
import { MsgType, type Message } from '../../message';
import * as M from '../../messages/mon';
import { EntityType, formatEntityName } from '../../types';
import { createLogger } from '../../../log';
import { keyFromKeyring, newKey } from '../../../keyring';
import { describeCeph, sharedCephCluster, type CephCluster } from '../../../testing/ceph-cluster';
import { until } from '../../../testing/wait';
import { CephxClient } from '../client';
import { CephxRequest } from '../header';
import { RotatingKeys } from '../rotating';
import { cephxServiceServer } from '../service-server';

const logger = createLogger({ test: 'cephx.live' }, 'error');
const MGR = 'mgr.cephx-live';

/** Steps a client session and a server session against each other, in process. */
function pair(client: AuthClientSession, server: AuthServerSession) {
  const req = client.request();
  let step = server.request(req.method, req.preferredModes, req.payload);
  while (step.kind === 'more') step = server.more(client.more(step.payload));
  if (step.kind !== 'done') throw new Error(`refused: ${step.reason}`);
  return { server: step, client: client.done(step.result.globalId, step.result.conMode, step.payload) };
}

describeCeph(__filename)('cephx against a live Pacific monitor', () => {
  let cluster: CephCluster;
  let mgrKey = '';
  const conns: Connection[] = [];

  const mon = () => {
    const v2 = cluster.mons[0].v2;
    const i = v2.lastIndexOf(':');
    return { host: v2.slice(0, i), port: Number(v2.slice(i + 1)) };
  };
  const connect = async (client: CephxClient, session = client.monSession()) => {
    const c = await Connection.connect({ logger, entityType: client.entity.type, ...mon(), auth: session, peerType: EntityType.MON, peerLabel: 'mon.a' });
    conns.push(c);
    return c;
  };
  /** Sends the client's next MAuth payload and hands it the monitor's reply. */
  const mauth = async (c: Connection, client: CephxClient, payload = client.renewal()) => {
    if (!payload) throw new Error('nothing to ask');
    const reply = new Promise<M.MAuthReply>((resolve) => {
      const on = (m: Message) => {
        if (m.type !== MsgType.AUTH_REPLY) return;
        c.off('message', on);
        resolve(M.decodeMAuthReply(m));
      };
      c.on('message', on);
    });
    c.sendMessage(M.mAuth(AuthMethod.CEPHX, payload));
    const r = await reply;
    client.handleReply(r.result, r.payload);
    return r;
  };
  const admin = (o: { now?: () => number } = {}) => new CephxClient({ entity: 'client.admin', key: keyFromKeyring(cluster.keyringPath, 'client.admin'), ...o });

  beforeAll(async () => {
    cluster = await sharedCephCluster();
    // a manager entity as issue 13 makes them: the monitors generate its key
    const created = await cluster.ceph<Array<{ entity: string; key: string }>>([
      'auth',
      'get-or-create',
      MGR,
      'mon',
      'allow profile mgr',
      'osd',
      'allow *',
      'mds',
      'allow *',
    ]);
    mgrKey = created[0].key;
  }, 400_000);

  afterAll(async () => {
    for (const c of conns) c.close();
    if (cluster) await cluster.run(['auth', 'del', MGR]);
  });

  it('client.admin authenticates: a global id, a session key both sides signed with, and tickets for mon, osd and mgr', async () => {
    const client = admin();
    const c = await connect(client);
    expect(c.isReady).toBe(true); // both AUTH_SIGNATUREs checked with our session key
    expect(client.globalId).toBeGreaterThan(0n);
    expect(c.authResult?.globalId).toBe(client.globalId);
    expect(c.authResult?.sessionKey).toHaveLength(16);
    expect(client.missingTickets()).toBe('none');
    expect(client.renewal()).toBeUndefined(); // nothing due
  });

  it(`${MGR} (from ceph auth get-or-create) authenticates and fetches the rotating mgr secrets`, async () => {
    const rotating = new RotatingKeys(EntityType.MGR);
    const client = new CephxClient({ entity: MGR, key: mgrKey, rotating });
    const c = await connect(client);
    expect(client.nextRenewalMs()).toBe(0);
    const r = await mauth(c, client);
    expect(r.result).toBe(0);
    expect(rotating.size).toBe(3);
    expect((rotating.current()?.expiresMs as number) > Date.now()).toBe(true);
    expect(client.renewal()).toBeUndefined(); // nothing more until the monitors rotate
  });

  it('a mgr ticket the monitor made for client.admin verifies with the secrets fetched as the manager: client.admin with its mgr caps', async () => {
    const rotating = new RotatingKeys(EntityType.MGR);
    const mgr = new CephxClient({ entity: MGR, key: mgrKey, rotating });
    await mauth(await connect(mgr), mgr);
    const client = admin();
    await connect(client);
    const { server, client: result } = pair(client.serviceSession(EntityType.MGR), cephxServiceServer({ keys: rotating }));
    expect(formatEntityName(server.peer)).toBe('client.admin');
    expect(server.caps).toEqual({ mgr: 'allow *' });
    expect(server.result.globalId).toBe(client.globalId);
    expect(result.sessionKey.equals(server.result.sessionKey)).toBe(true);
  });

  it('GET_PRINCIPAL_SESSION_KEY: a ticket a service refused is asked for again and comes back new', async () => {
    const rotating = new RotatingKeys(EntityType.MGR);
    const mgr = new CephxClient({ entity: MGR, key: mgrKey, rotating });
    await mauth(await connect(mgr), mgr);
    const client = admin();
    const c = await connect(client);
    const before = client.tickets.get(EntityType.MGR)?.sessionKey as Buffer;
    client.invalidate(EntityType.MGR);
    expect(client.missingTickets()).toBe('mgr');
    const ask = client.renewal() as Buffer;
    expect(ask.readUInt16LE(0)).toBe(CephxRequest.GET_PRINCIPAL_SESSION_KEY);
    const r = await mauth(c, client, ask);
    expect(r.result).toBe(0);
    const after = client.tickets.get(EntityType.MGR)?.sessionKey as Buffer;
    expect(after.equals(before)).toBe(false);
    expect(formatEntityName(pair(client.serviceSession(EntityType.MGR), cephxServiceServer({ keys: rotating })).server.peer)).toBe('client.admin');
  });

  it('GET_AUTH_SESSION_KEY over MAuth renews the auth ticket (sealed with the old session key), keeping the global id', async () => {
    const clock = { skew: 0 };
    const client = admin({ now: () => Date.now() + clock.skew });
    const c = await connect(client);
    const old = client.tickets.get(EntityType.AUTH);
    clock.skew = (old?.renewAfterMs as number) - Date.now() + 1000; // 54 hours later, for the client
    const ask = client.renewal() as Buffer;
    expect(ask.readUInt16LE(0)).toBe(CephxRequest.GET_AUTH_SESSION_KEY);
    const r = await mauth(c, client, ask);
    expect(r.result).toBe(0);
    expect(r.globalId).toBe(client.globalId);
    const renewed = client.tickets.get(EntityType.AUTH);
    expect(renewed?.sessionKey.equals(old?.sessionKey as Buffer)).toBe(false);
    expect(renewed?.ticket.blob.equals(old?.ticket.blob as Buffer)).toBe(false);
    // the renewed ticket opens a new session with another monitor connection, reclaiming the same global id
    const gid = client.globalId;
    const again = await connect(client);
    expect(again.isReady).toBe(true);
    expect(client.globalId).toBe(gid);
  });

  it('a wrong key is refused by the monitor: an auth error, no session', async () => {
    const client = new CephxClient({ entity: MGR, key: newKey() });
    const err = await connect(client).catch((e) => e);
    expect(err).toBeInstanceOf(ConnectionError);
    expect(err).toMatchObject({ code: 'auth', message: expect.stringMatching(/mon\.a refused the authentication \((EACCES|EPERM)\)/) });
    // what the handshake session makes of AUTH_BAD_METHOD's result, for a connection that asks it
    expect(client.monSession().refused(err.message.includes('EPERM') ? -1 : -13).message).toMatch(
      /the monitor refused mgr\.cephx-live \(E(ACCES|PERM)\): is the key right for mgr\.cephx-live, and does the entity exist \(ceph auth get mgr\.cephx-live\)\?/,
    );
  });

  it('an entity the monitors do not know is refused the same way', async () => {
    const client = new CephxClient({ entity: 'mgr.nosuch', key: newKey() });
    await expect(connect(client)).rejects.toMatchObject({ code: 'auth' });
  });

  it('the monitor refuses rotating secrets to an entity of another type (client.admin asking as a client)', async () => {
    const client = admin();
    const c = await connect(client);
    // client.admin has no rotating secrets of its own type: the monitor says so, the client reports it
    const err = await mauth(c, client, Buffer.from([0x00, 0x04])).catch((e) => e);
    expect(err).toBeInstanceOf(Error);
    expect(String(err.message)).toMatch(/the monitor refused client\.admin the rotating secrets of its type \(EACCES\)/);
    await until('still connected', () => c.isReady);
  });
});
