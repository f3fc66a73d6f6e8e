// A bidi stream served on grpc-js's call (lib/raw-stream.ts), through the
// real server bootstrap on loopback: it takes the call from nice-grpc, checks
// proof and rule as every call, reads as asked, sends what it yields, and
// ends with the status it threw; a cancelled call aborts its signal.
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { ServerError, Status } from 'nice-grpc';
import { connect } from '../client';
import { DaemonServerServiceDefinition, type SessionRequest, type SessionResponse } from '../gen/ceph/mgr/v1/daemon_server';
import { formatKeyring, newKey } from '../keyring';
import { startService, RunningService } from '../server';
import type { RuleTable } from '../auth/grpc';
import { keyringCredentials } from '../auth/keys';
import { until } from '../testing/wait';

const SESSION = `/${DaemonServerServiceDefinition.fullName}/Session`;

describe('raw streams', () => {
  let dir: string;
  let keyringPath: string;
  let svc: RunningService;
  /** What the raw handler saw, per call. */
  const calls: Array<{ entity?: string; received: number; aborted: boolean }> = [];
  const rules: RuleTable = {
    Session: (c) => (c.caps.mgr === 'allow *' ? null : "needs mgr caps 'allow *'"),
  };

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'raw-stream-test-'));
    keyringPath = path.join(dir, 'keyring');
    fs.writeFileSync(
      keyringPath,
      formatKeyring([
        { entity: 'client.admin', key: newKey(), caps: { mgr: 'allow *' } },
        { entity: 'client.ro', key: newKey(), caps: { mgr: 'allow r' } },
      ]),
      { mode: 0o600 },
    );
    svc = await startService(
      {
        name: 'raw',
        host: '127.0.0.1',
        port: 0,
        metricsPort: -1,
        logLevel: 'error',
        auth: { keyringPath, tables: { [DaemonServerServiceDefinition.fullName]: rules } },
      },
      (server, { serveRawStream }) => {
        server.add(DaemonServerServiceDefinition, {
          async command() {
            return {};
          },
          async getCommandDescriptions() {
            return { commands: [] };
          },
          // the raw stream takes the path: nice-grpc's handler must not run
          // eslint-disable-next-line require-yield
          async *session() {
            throw new ServerError(Status.INTERNAL, "served by nice-grpc's handler");
          },
        } as never);
        serveRawStream(SESSION, {
          async *serve(requests, caller, signal) {
            const call = { entity: caller?.entity, received: 0, aborted: false };
            calls.push(call);
            signal.addEventListener('abort', () => (call.aborted = true));
            for await (const r of requests as AsyncIterable<SessionRequest>) {
              call.received++;
              // a close message: the test's way to make the handler fail
              if (r.msg?.$case === 'close') throw new ServerError(Status.FAILED_PRECONDITION, 'closed by the test');
              // osd.4: the handler waits without reading (a half-close does not end it) until the call is cancelled
              if (r.msg?.$case === 'open' && r.msg.value.daemonName === 'osd.4') {
                await new Promise((resolve) => signal.addEventListener('abort', resolve));
                return;
              }
              const answer: SessionResponse = { msg: { $case: 'configure', value: { statsPeriod: call.received, statsThreshold: 0 } } };
              yield answer;
            }
          },
        });
        return [DaemonServerServiceDefinition.fullName];
      },
    );
    svc.setServing(true);
  });

  afterAll(async () => {
    await svc?.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const asEntity = (entity: string) => ({ credentials: keyringCredentials(keyringPath, entity) });
  const open = (n: number): SessionRequest => ({
    msg: { $case: 'open', value: { daemonName: `osd.${n}`, serviceName: '', serviceDaemon: false, metadata: {}, daemonStatus: {} } },
  });
  async function* send(...msgs: SessionRequest[]) {
    yield* msgs;
  }
  const handled = async (code: string) => {
    const m = (await svc.registry.getSingleMetric('mgr_grpc_server_handled_total')!.get()).values;
    return m.find((v) => v.labels.method === SESSION && v.labels.code === code)?.value ?? 0;
  };

  it('answers each message in order, knows the caller, and ends OK when the client half-closes; the call is counted', async () => {
    const p = connect(DaemonServerServiceDefinition, svc.address, undefined, asEntity('client.admin'));
    try {
      const periods: number[] = [];
      for await (const r of p.client.session(send(open(1), open(1), open(1)))) if (r.msg?.$case === 'configure') periods.push(r.msg.value.statsPeriod);
      expect(periods).toEqual([1, 2, 3]);
      expect(calls[calls.length - 1]).toEqual({ entity: 'client.admin', received: 3, aborted: false });
      expect(await handled('OK')).toBe(1);
    } finally {
      p.close();
    }
  });

  it('checks the proof and the rule before the handler: UNAUTHENTICATED, PERMISSION_DENIED', async () => {
    const before = calls.length;
    const bare = connect(DaemonServerServiceDefinition, svc.address);
    const ro = connect(DaemonServerServiceDefinition, svc.address, undefined, asEntity('client.ro'));
    try {
      const drain = async (it: AsyncIterable<unknown>) => {
        for await (const _ of it);
      };
      await expect(drain(bare.client.session(send(open(2))))).rejects.toMatchObject({ code: Status.UNAUTHENTICATED });
      await expect(drain(ro.client.session(send(open(2))))).rejects.toMatchObject({
        code: Status.PERMISSION_DENIED,
        details: expect.stringMatching(/client\.ro may not call Session: needs mgr caps 'allow \*'/),
      });
      expect(calls.length).toBe(before);
      expect(await handled('UNAUTHENTICATED')).toBe(1);
      expect(await handled('PERMISSION_DENIED')).toBe(1);
    } finally {
      bare.close();
      ro.close();
    }
  });

  it('ends with the status the handler threw, after what it had sent', async () => {
    const p = connect(DaemonServerServiceDefinition, svc.address, undefined, asEntity('client.admin'));
    try {
      const got: string[] = [];
      const close: SessionRequest = { msg: { $case: 'close', value: {} } };
      await expect(
        (async () => {
          for await (const r of p.client.session(send(open(3), close))) got.push(r.msg?.$case ?? '');
        })(),
      ).rejects.toMatchObject({ code: Status.FAILED_PRECONDITION, details: 'closed by the test' });
      expect(got).toEqual(['configure']);
    } finally {
      p.close();
    }
  });

  it('a call the client cancels aborts the handler’s signal and is counted CANCELLED', async () => {
    const p = connect(DaemonServerServiceDefinition, svc.address, undefined, asEntity('client.admin'));
    const stop = new AbortController();
    try {
      // open, then nothing until the client goes
      async function* openThenWait() {
        yield open(4);
        await new Promise(() => {});
      }
      const reading = (async () => {
        for await (const _ of p.client.session(openThenWait(), { signal: stop.signal }));
      })();
      await until('the handler has the open', async () => calls[calls.length - 1]?.received === 1 && calls[calls.length - 1].entity === 'client.admin');
      const call = calls[calls.length - 1];
      stop.abort();
      await expect(reading).rejects.toThrow();
      await until('the handler saw the cancel', async () => call.aborted);
      await until('the call counted as cancelled', async () => (await handled('CANCELLED')) === 1);
    } finally {
      p.close();
    }
  });
});
