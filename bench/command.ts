// Command round trip: `hello` from a client through daemon-server (auth,
// argument validation against the module's descriptor), module-host, and the
// hello module's worker thread, and back; p50/p99 at concurrency 1 and 64.
// Baseline: a bare grpc-js unary echo of the same request bytes, measured in
// turns with ours (half a second each) once every module has started.
// Reference: Ceph Pacific's own round trip for `ceph tell mgr hello`
// through librados on this kind of machine, 0.50 ms median.
import * as grpc from '@grpc/grpc-js';
import { CommandRequest } from '../lib/gen/ceph/mgr/v1/daemon_server';
import { ModuleHostServiceDefinition, ModuleState } from '../lib/gen/ceph/mgr/v1/module_host';
import { makeClient, openChannel } from '../lib/client';
import { BaselineClient } from './baseline-server';
import { BenchResult, Figure, interleavedLoops, LoopStats, startNode } from './harness';
import { moduleStack } from './notify';
import { until } from './stack';

export const CEPH_PACIFIC_HELLO_P50_MS = 0.5;

export async function runCommand(): Promise<BenchResult> {
  const stack = await moduleStack();
  const base = startNode('bench/baseline-server.ts');
  try {
    const [, baseAddr] = await base.waitForLine(/baseline listening on (\S+)/);
    const req = { prefix: 'hello', args: JSON.stringify({ prefix: 'hello' }), inbuf: Buffer.alloc(0) };
    const admin = stack.asAdmin();
    const hello = async () => {
      const r = (await stack.dsClient.command(req, admin)).result!;
      if (r.retcode !== 0 || r.stdout !== 'Hello World') throw new Error(`hello answered ${r.retcode} '${r.stdout}' '${r.stderr}'`);
    };
    await until('hello to answer', async () => (await hello(), true), 60000, 200); // the module is up and its command known
    // hello answers as soon as its module runs; Ceph's Python modules start after it. Measured
    // while they start, the figure would be of the start (p50 falls about 2x over it).
    const mhChannel = openChannel(stack.mh!.address);
    const mh = makeClient(ModuleHostServiceDefinition, mhChannel, stack.asManager());
    await until(
      'every module to have started',
      async () => {
        const r = await mh.listModules({});
        return r.loaded && !r.modules.some((m) => m.state === ModuleState.MODULE_STATE_STARTING);
      },
      120000,
      250,
    );

    const bytes = Buffer.from(CommandRequest.encode(req).finish());
    const bare = new BaselineClient(baseAddr, grpc.credentials.createInsecure()) as any;
    const echo = () => new Promise((resolve, reject) => bare.Echo(bytes, (e: Error | null, r: Buffer) => (e ? reject(e) : resolve(r))));
    // Where the time goes (concurrency 1): daemon-server alone (a native command answered from
    // its own config, same auth and argument validation), and module-host + worker alone
    // (HandleCommand straight to module-host, the call daemon-server makes).
    const native = { prefix: 'config show', args: JSON.stringify({ prefix: 'config show' }), inbuf: Buffer.alloc(0) };
    const configShow = async () => {
      const r = (await stack.dsClient.command(native, admin)).result!;
      if (r.retcode !== 0) throw new Error(`config show answered ${r.retcode} ${r.stderr}`);
    };
    const viaModuleHost = async () => {
      const r = await mh.handleCommand({ prefix: 'hello', args: JSON.stringify({ prefix: 'hello' }), inbuf: Buffer.alloc(0), entity: 'client.admin' });
      if (r.result?.retcode !== 0) throw new Error(`module-host hello answered ${r.result?.retcode} ${r.result?.stderr}`);
    };

    const figures: Figure[] = [];
    const stats: Record<string, LoopStats> = {};
    for (const c of [1, 64]) {
      // ours and the baseline take turns (half a second each) over the whole window
      const turns = await interleavedLoops(c === 1 ? { bare: echo, hello, configShow, viaModuleHost } : { bare: echo, hello }, { concurrency: c });
      const b = turns.bare;
      const ours = turns.hello;
      stats[`bare_c${c}`] = b;
      stats[`hello_c${c}`] = ours;
      if (c === 1) {
        stats.native_c1 = turns.configShow;
        stats.module_host_c1 = turns.viaModuleHost;
      }
      const bn = 'bare grpc-js unary echo, same bytes';
      figures.push({ name: `command_hello_p50_c${c}`, value: ours.p50Ms, unit: 'ms', baseline: b.p50Ms, baselineName: bn });
      figures.push({ name: `command_hello_p99_c${c}`, value: ours.p99Ms, unit: 'ms', baseline: b.p99Ms, baselineName: bn });
      figures.push({ name: `command_hello_throughput_c${c}`, value: ours.perSecond, unit: 'commands/s', baseline: b.perSecond, baselineName: bn });
      if (c === 1) {
        figures.push({
          name: 'command_hello_p50_c1_vs_ceph',
          value: ours.p50Ms,
          unit: 'ms',
          baseline: CEPH_PACIFIC_HELLO_P50_MS,
          baselineName: 'Ceph Pacific `tell mgr hello` median via librados',
          reference: true,
        });
      }
    }
    const ds = stats.native_c1;
    const viaMh = stats.module_host_c1;
    mhChannel.close();
    stats.native_c1 = ds;
    stats.module_host_c1 = viaMh;
    const bn1 = 'bare grpc-js unary echo, same bytes';
    figures.push({
      name: 'command_part_daemon_server_native_p50_c1',
      value: ds.p50Ms,
      unit: 'ms',
      baseline: stats.bare_c1.p50Ms,
      baselineName: bn1,
      note: '`config show`: auth, validation, one hop',
    });
    figures.push({
      name: 'command_part_module_host_hello_p50_c1',
      value: viaMh.p50Ms,
      unit: 'ms',
      baseline: stats.bare_c1.p50Ms,
      baselineName: bn1,
      note: 'HandleCommand straight to module-host: host + worker thread',
    });
    bare.close();
    return { bench: 'command', figures, params: { command: 'hello', path: 'client -> daemon-server -> module-host -> hello worker', stats } };
  } finally {
    await base.kill();
  }
}
