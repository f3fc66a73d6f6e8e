// Our cephx client and server sessions through real msgr2 connections on
// loopback (connection.ts): an OSD-like client with a service ticket
// authenticates to a manager-like server holding the rotating secrets; a
// fake manager learns nothing it can use.
import * as net from 'net';
import type { AuthClientSession, AuthServerSession } from '../../auth';
import { Connection, ConnectionError } from '../../connection';
import { EntityType, v2Addr } from '../../types';
import { createLogger } from '../../../log';
import { until } from '../../../testing/wait';
import { RotatingKeys } from '../rotating';
import { cephxServiceServer } from '../service-server';
import { cephxServiceSession } from '../service-session';
import { freshRotatingSecrets, issueTicket } from './issuer';

const logger = createLogger({ test: 'cephx-loopback' }, 'error');

interface Srv {
  port: number;
  conns: Connection[];
  close(): Promise<void>;
}

async function listen(auth: () => AuthServerSession): Promise<Srv> {
  const conns: Connection[] = [];
  const srv = net.createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as net.AddressInfo).port;
  srv.on('connection', (s) => {
    const c = Connection.accept(s, { logger, entityType: EntityType.MGR, auth, myAddrs: [v2Addr('127.0.0.1', port)] });
    c.on('error', () => undefined);
    conns.push(c);
  });
  return {
    port,
    conns,
    close: async () => {
      for (const c of conns) c.close();
      await new Promise<void>((r) => srv.close(() => r()));
    },
  };
}

/** Connects to `port` as an OSD with a cephx service session. */
function connectAsOsd(port: number, auth: AuthClientSession, extra: Partial<Parameters<typeof Connection.connect>[0]> = {}) {
  return Connection.connect({ logger, entityType: EntityType.OSD, host: '127.0.0.1', port, auth, ...extra });
}

describe('cephx over msgr2 on loopback', () => {
  const secrets = freshRotatingSecrets();
  const keys = new RotatingKeys(EntityType.MGR);
  keys.set(secrets);
  const osd7 = { type: EntityType.OSD, id: '7' };
  let srv: Srv | undefined;
  afterEach(async () => srv?.close());

  it("an OSD's authorizer verifies: the server knows osd.7, its global id and caps; both sides agree on the session key", async () => {
    srv = await listen(() => cephxServiceServer({ keys }));
    const ticket = issueTicket({ name: osd7, globalId: 777n, serviceId: EntityType.MGR, cap: 'allow profile osd', secrets });
    const c = await connectAsOsd(srv.port, cephxServiceSession({ globalId: 777n, ticket, who: 'osd.7' }), { peerType: EntityType.MGR, globalId: 777n });
    const s = await until('server side ready', () => srv?.conns.find((x) => x.isReady));
    expect(s.peer).toMatchObject({ name: osd7, globalId: 777n, caps: { mgr: 'allow profile osd' } });
    expect(c.authResult?.sessionKey.equals(ticket.sessionKey)).toBe(true);
    expect(s.authResult?.sessionKey.equals(ticket.sessionKey)).toBe(true);
    c.close();
  });

  it('a ticket sealed with a secret the manager does not hold is refused, and the client hears so', async () => {
    srv = await listen(() => cephxServiceServer({ keys }));
    const other = freshRotatingSecrets();
    const ticket = issueTicket({ name: osd7, globalId: 777n, serviceId: EntityType.MGR, cap: 'allow profile osd', secrets: other, secretId: 2n });
    const c = connectAsOsd(srv.port, cephxServiceSession({ globalId: 777n, ticket }));
    await expect(c).rejects.toMatchObject({ code: 'auth' });
  });

  it('a fake manager learns nothing reusable: the authorizer it saw is challenged by the real one and cannot be answered', async () => {
    // The fake plays a manager without the rotating secrets: it keeps what the client sends and
    // sends a challenge it cannot seal properly.
    const seen: Buffer[] = [];
    srv = await listen(() => ({
      request: (_m, _modes, payload) => {
        seen.push(payload);
        return { kind: 'more', payload: Buffer.alloc(32, 1) };
      },
      more: (payload) => {
        seen.push(payload);
        return { kind: 'bad', reason: 'fake' };
      },
    }));
    const ticket = issueTicket({ name: osd7, globalId: 777n, serviceId: EntityType.MGR, cap: 'allow profile osd', secrets });
    const c = connectAsOsd(srv.port, cephxServiceSession({ globalId: 777n, ticket, who: 'osd.7' }));
    // the client refuses the fake's challenge: it does not open with the session key
    await expect(c).rejects.toMatchObject({ code: 'auth', message: expect.stringMatching(/the challenge from the mgr to osd\.7/) });
    expect(seen).toHaveLength(1); // the client never answered

    // replayed to the real manager, the authorizer gets a fresh challenge the fake cannot answer
    const real = cephxServiceServer({ keys });
    expect(real.request(2, [1], seen[0]).kind).toBe('more');
    const verdict = real.more(seen[0]);
    expect(verdict.kind).toBe('bad');
  });

  it("a fake manager that says 'done' without the secret is caught by the client", async () => {
    srv = await listen(() => ({
      request: () => ({
        kind: 'done',
        payload: Buffer.alloc(36, 2),
        result: { globalId: 777n, conMode: 1, sessionKey: Buffer.alloc(16), connectionSecret: Buffer.alloc(0) },
        peer: osd7,
        caps: {},
      }),
      more: () => ({ kind: 'bad', reason: 'fake' }),
    }));
    const ticket = issueTicket({ name: osd7, globalId: 777n, serviceId: EntityType.MGR, cap: 'allow profile osd', secrets });
    const err = await connectAsOsd(srv.port, cephxServiceSession({ globalId: 777n, ticket, who: 'osd.7' })).catch((e) => e);
    expect(err).toBeInstanceOf(ConnectionError);
    expect(err.message).toMatch(/authorizer reply from the mgr to osd\.7/);
  });
});
