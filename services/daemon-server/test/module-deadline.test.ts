// A module command that does not answer: daemon-server's caller gets
// DEADLINE_EXCEEDED (MGR_COMMAND_TIMEOUT_MS), not EIO, and the cancellation
// reaches module-host, which abandons the command. Real services on
// loopback: cluster-state, module-host with the blocker fixture module
// (whose `blocker wait` never returns), daemon-server in front of it.
import * as path from 'path';
import { ClientError, Status } from 'nice-grpc';
import { connect, Peer } from '../../../lib/client';
import { DaemonServerServiceDefinition } from '../../../lib/gen/ceph/mgr/v1/daemon_server';
import { startModuleHost, ModuleHostHandle } from '../../module-host/server';
import { startDaemonServer, DaemonServerHandle } from '../server';
import { until } from '../../../lib/testing/wait';
import { abandonedCommands, callError, startStack } from './helpers';

const FIXTURES = path.join(__dirname, '../../module-host/test/fixtures/modules');

describe('a silent module command', () => {
  let mh: ModuleHostHandle;
  let t: Awaited<ReturnType<typeof startStack>>;
  let ds: DaemonServerHandle;
  let peer: Peer<typeof DaemonServerServiceDefinition>;
  const abandoned = () => abandonedCommands(mh, 'blocker');

  beforeAll(async () => {
    // The stack's daemon-server has no module-host; a second one in front of ours does.
    t = await startStack();
    mh = await startModuleHost({
      clusterStateAddr: t.cs.address,
      modulePath: [FIXTURES],
      enabledModules: ['blocker'],
      alwaysOnModules: [],
      // module-host alone would wait 60 s for the module: daemon-server's 1 s deadline comes first.
      commandTimeoutMs: 60000,
      logLevel: 'error',
      metricsPort: -1,
      keyringPath: null,
    });
    ds = await startDaemonServer({
      clusterStateAddr: t.cs.address,
      moduleHostAddr: mh.address,
      keyringPath: t.keyringPath,
      commandTimeoutMs: 1000,
      logLevel: 'error',
      metricsPort: -1,
    });
    peer = connect(DaemonServerServiceDefinition, ds.address);
    await until('the blocker module running', () => mh.host.modules().find((m) => m.name === 'blocker' && m.state === 'running'));
  }, 60000);

  afterAll(async () => {
    peer?.close();
    await ds?.stop();
    await mh?.stop();
    await t?.close();
  });

  it('answers DEADLINE_EXCEEDED naming MGR_COMMAND_TIMEOUT_MS, and module-host abandons the command', async () => {
    expect((await peer.client.command({ prefix: 'blocker ping', args: '{}', inbuf: Buffer.alloc(0) }, t.admin)).result!.stdout).toBe('pong');
    const before = await abandoned();
    const e = await callError(peer.client.command({ prefix: 'blocker wait', args: '{}', inbuf: Buffer.alloc(0) }, t.admin));
    expect(e).toBeInstanceOf(ClientError);
    expect((e as ClientError).code).toBe(Status.DEADLINE_EXCEEDED);
    expect((e as ClientError).details).toBe("module command 'blocker wait' did not answer within 1000 ms (MGR_COMMAND_TIMEOUT_MS)");
    await until('module-host to abandon the command', async () => (await abandoned()) === before + 1, 10000);
  });

  it("passes the caller's own cancellation on to module-host", async () => {
    const before = await abandoned();
    const caller = new AbortController();
    const call = peer.client.command(
      { prefix: 'blocker wait', args: JSON.stringify({ tag: 'cancel' }), inbuf: Buffer.alloc(0) },
      { ...t.admin, signal: caller.signal },
    );
    // Cancel once the module is running the command, well before any deadline.
    await until('the command to reach the module', async () => (await t.csClient.getStore({ key: 'mgr/blocker/waiting/cancel' })).found, 10000, 20);
    caller.abort();
    await expect(call).rejects.toThrow(/abort/i);
    await until('module-host to abandon the cancelled command', async () => (await abandoned()) === before + 1, 10000);
  });
});

describe("daemon-server's module command table", () => {
  it('is read as soon as module-host is up, before any command (a promotion does not wait for it)', async () => {
    const t = await startStack();
    const mh = await startModuleHost({
      clusterStateAddr: t.cs.address,
      modulePath: [FIXTURES],
      enabledModules: ['blocker'],
      alwaysOnModules: [],
      logLevel: 'error',
      metricsPort: -1,
      keyringPath: null,
    });
    const listed = async () => {
      const m = await mh.service.registry.getSingleMetric('mgr_grpc_server_handled_total')!.get();
      return m.values.filter((v) => String(v.labels.method).endsWith('ListCommands')).reduce((a, v) => a + v.value, 0);
    };
    expect(await listed()).toBe(0);
    const ds = await startDaemonServer({
      clusterStateAddr: t.cs.address,
      moduleHostAddr: mh.address,
      keyringPath: t.keyringPath,
      logLevel: 'error',
      metricsPort: -1,
    });
    try {
      await until('daemon-server to read the command table', async () => (await listed()) > 0, 20000);
    } finally {
      await ds.stop();
      await mh.stop();
      await t.close();
    }
  }, 60000);
});
