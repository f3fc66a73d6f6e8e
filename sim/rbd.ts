// The simulated cluster's RBD images and their I/O counters. In Ceph the
// prometheus module lists a pool's images with librbd and gets their counters
// from an OSD perf query (the OSDs group client ops on rbd_data.<id>.*
// objects by pool, namespace and image). mgrpc has no RADOS client and no OSD
// perf queries, so the simulator hands cluster-state the query's answer
// directly, as the `rbd_image_stats` map:
//   {"stamp": <s>, "pools": [{"pool_id", "pool_name", "images": [{"namespace",
//    "id", "name", "write_ops", "read_ops", "write_bytes", "read_bytes",
//    "write_latency": [sum_ns, count], "read_latency": [sum_ns, count]}]}]}
// Counters are functions of time, like every other simulated counter.
import { hash32 } from './perf';

export interface RbdImageRecord {
  namespace: string;
  id: string;
  name: string;
  write_ops: number;
  read_ops: number;
  write_bytes: number;
  read_bytes: number;
  /** [sum of latencies in ns, number of ops], as the OSD perf query's long-running averages. */
  write_latency: [number, number];
  read_latency: [number, number];
}

export interface RbdImageStats {
  stamp: number;
  pools: Array<{ pool_id: number; pool_name: string; images: RbdImageRecord[] }>;
}

/** Images per RBD pool: two in the default namespace and one in namespace "tenant-a". */
const IMAGES: Array<{ namespace: string; name: string }> = [
  { namespace: '', name: 'vm-disk-1' },
  { namespace: '', name: 'vm-disk-2' },
  { namespace: 'tenant-a', name: 'db-volume' },
];

/**
 * The images of every pool with the `rbd` application and their counters at
 * `elapsed` seconds since the cluster was created.
 */
export function rbdImageStats(opts: {
  seed: number;
  pools: Array<{ id: number; name: string; applications: string[] }>;
  elapsed: number;
  stamp: number;
}): RbdImageStats {
  const dt = Math.max(0, opts.elapsed);
  return {
    stamp: opts.stamp,
    pools: opts.pools
      .filter((p) => p.applications.includes('rbd'))
      .map((p) => ({
        pool_id: p.id,
        pool_name: p.name,
        images: IMAGES.map((img, i) => {
          const h = hash32(opts.seed + p.id, i);
          const writesPerSec = 1 + (h % 20);
          const readsPerSec = 2 + ((h >>> 8) % 40);
          const writes = Math.floor(writesPerSec * dt);
          const reads = Math.floor(readsPerSec * dt);
          return {
            namespace: img.namespace,
            id: (h >>> 0).toString(16).padStart(8, '0') + p.id.toString(16).padStart(4, '0'),
            name: img.name,
            write_ops: writes,
            read_ops: reads,
            write_bytes: writes * 16384,
            read_bytes: reads * 8192,
            write_latency: [writes * (800000 + (h % 500) * 1000), writes],
            read_latency: [reads * (300000 + ((h >>> 4) % 500) * 1000), reads],
          };
        }),
      })),
  };
}
