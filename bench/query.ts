// Query: Get osd_map (the GetResponse encoded once per epoch, sent without
// copies) and GetOsdMap (typed) on a large map, against a bare grpc-js unary
// returning the same number of pre-encoded bytes (both read by the same raw
// grpc-js client), and against JSON.stringify of the map (what
// re-serialising per call would cost).
import { keyringCredentials } from '../lib/auth/keys';
import { provisionKeyring } from '../lib/auth/provision';
import { ENTITY_HEADER, PROOF_HEADER, signCall } from '../lib/auth/proof';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import * as grpc from '@grpc/grpc-js';
import { openChannel, makeClient } from '../lib/client';
import { ClusterStateServiceDefinition, GetRequest } from '../lib/gen/ceph/mgr/v1/cluster_state';
import { SimCluster } from '../sim/cluster';
import { BaselineClient } from './baseline-server';
import { BenchResult, Figure, SMOKE, startNode, timedLoop } from './harness';

export const LISTENING = /"msg":"listening","address":"([^"]+)"/;

export async function runQuery(osds = SMOKE ? 50 : 10000): Promise<BenchResult> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'mgrpc-bench-query-'));
  // Authenticated as in production: every call carries a proof made with a key of this keyring (docs/SECURITY.md).
  const keyring = path.join(dataDir, 'keyring');
  provisionKeyring(keyring);
  const admin = keyringCredentials(keyring, 'client.admin');
  const cs = startNode('services/cluster-state/main.ts', ['--port', '0', '--metrics-port', '-1', '--data-dir', dataDir, '--keyring', keyring]);
  const base = startNode('bench/baseline-server.ts');
  try {
    const [, csAddr] = await cs.waitForLine(LISTENING);
    const [, baseAddr] = await base.waitForLine(/baseline listening on (\S+)/);
    const sim = new SimCluster({ osds, pgs: Math.max(89, osds * 10), pools: 5 });
    const map = sim.osdMap();
    const json = Buffer.from(JSON.stringify(map));
    const channel = openChannel(csAddr);
    const client = makeClient(ClusterStateServiceDefinition, channel, { credentials: admin });
    await client.putMap({ name: 'osd_map', epoch: map.epoch, json });

    const figures: Figure[] = [];
    const baseClient = new BaselineClient(baseAddr, grpc.credentials.createInsecure(), { 'grpc.max_receive_message_length': -1 }) as any;
    const sizeReq = Buffer.alloc(4);
    sizeReq.writeUInt32BE(json.length + 8);
    const bareGet = () => new Promise((resolve, reject) => baseClient.Get(sizeReq, (e: Error | null, r: Buffer) => (e ? reject(e) : resolve(r))));
    // The service's cost: the same raw grpc-js client as the baseline's (bytes in, bytes out), so the
    // ratio is cluster-state against a bare server; the generated client's own decoding is shown apart.
    const raw = new grpc.Client(csAddr, grpc.credentials.createInsecure(), { 'grpc.max_receive_message_length': -1 });
    const getReq = Buffer.from(GetRequest.encode({ what: 'osd_map' }).finish());
    const asIs = (b: Buffer) => b;
    const GET = '/ceph.mgr.v1.ClusterStateService/Get';
    const proof = () => {
      const signed = signCall(admin, csAddr, GET);
      const md = new grpc.Metadata();
      md.set(ENTITY_HEADER, signed.entity);
      md.set(PROOF_HEADER, signed.proof);
      return md;
    };
    const rawGet = () =>
      new Promise((resolve, reject) => raw.makeUnaryRequest(GET, asIs, asIs, getReq, proof(), (e: Error | null, r?: Buffer) => (e ? reject(e) : resolve(r))));
    const bare = await timedLoop(bareGet);
    const ours = await timedLoop(rawGet);
    const generated = await timedLoop(() => client.get({ what: 'osd_map' }));
    const typed = await timedLoop(() => client.getOsdMap({}));
    const stringify = await timedLoop(async () => JSON.stringify(map));

    const mb = (json.length / 1e6).toFixed(1);
    figures.push({
      name: `get_osd_map_p50 (${osds} OSDs, ${mb} MB)`,
      value: ours.p50Ms,
      unit: 'ms',
      baseline: bare.p50Ms,
      baselineName: 'bare grpc-js unary, same bytes',
    });
    figures.push({ name: 'get_osd_map_p99', value: ours.p99Ms, unit: 'ms', baseline: bare.p99Ms, baselineName: 'bare grpc-js unary, same bytes' });
    figures.push({
      name: 'get_osd_map_throughput',
      value: ours.perSecond,
      unit: 'calls/s',
      baseline: bare.perSecond,
      baselineName: 'bare grpc-js unary, same bytes',
    });
    figures.push({
      name: 'get_osd_map_generated_client_p50',
      value: generated.p50Ms,
      unit: 'ms',
      baseline: bare.p50Ms,
      baselineName: 'bare grpc-js unary, same bytes',
      note: "through nice-grpc and ts-proto's decoding (which copies the bytes), as module-host calls it",
    });
    figures.push({ name: 'get_osd_map_vs_stringify_p50', value: ours.p50Ms, unit: 'ms', baseline: stringify.p50Ms, baselineName: 'JSON.stringify of the map' });
    figures.push({ name: 'get_osd_map_typed_p50', value: typed.p50Ms, unit: 'ms', baseline: bare.p50Ms, baselineName: 'bare grpc-js unary, same bytes' });
    figures.push({ name: 'get_osd_map_typed_p99', value: typed.p99Ms, unit: 'ms', baseline: bare.p99Ms, baselineName: 'bare grpc-js unary, same bytes' });
    baseClient.close();
    raw.close();
    channel.close();
    return { bench: 'query', figures, params: { osds, bytes: json.length } };
  } finally {
    await Promise.all([cs.kill(), base.kill()]);
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}
