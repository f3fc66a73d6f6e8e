// The simulated OSDs' disks: each OSD is BlueStore on one whole disk of its
// host (sdb, sdc, ...; sda is the system disk), and its metadata carries what
// a real BlueStore OSD reports about it (BlueStore::collect_metadata and
// KernelDevice::collect_metadata in Ceph): the device node, the devices and
// their ids. The prometheus module turns that into ceph_disk_occupation, which
// the host and OSD dashboards join with node_exporter's disk metrics.
import { hash32 } from './perf';

/** Linux's name for the i-th SCSI disk (0: sda, 25: sdz, 26: sdaa). */
export function diskName(i: number): string {
  let s = '';
  let n = i;
  do {
    s = String.fromCharCode(97 + (n % 26)) + s;
    n = Math.floor(n / 26) - 1;
  } while (n >= 0);
  return `sd${s}`;
}

/** The metadata keys a BlueStore OSD on one whole disk adds to (or sets in) an OSD's metadata. */
export function bluestoreMetadata(opts: { seed: number; osd: number; indexOnHost: number; bytes: number }): Record<string, string> {
  const dev = diskName(opts.indexOnHost + 1);
  const serial = `SIM${(hash32(opts.seed, opts.osd) % 1e8).toString().padStart(8, '0')}`;
  return {
    osd_objectstore: 'bluestore',
    bluefs: '1',
    bluefs_dedicated_db: '0',
    bluefs_dedicated_wal: '0',
    bluefs_single_shared_device: '1',
    bluestore_bdev_access_mode: 'blk',
    bluestore_bdev_block_size: '4096',
    bluestore_bdev_dev_node: `/dev/${dev}`,
    bluestore_bdev_devices: dev,
    bluestore_bdev_driver: 'KernelDevice',
    bluestore_bdev_partition_path: `/dev/${dev}`,
    bluestore_bdev_rotational: '1',
    bluestore_bdev_size: String(opts.bytes),
    bluestore_bdev_support_discard: '0',
    bluestore_bdev_type: 'hdd',
    devices: dev,
    device_ids: `${dev}=SIMULATED_HDD_${serial}`,
    device_paths: `${dev}=/dev/disk/by-path/pci-0000:00:10.0-scsi-0:0:${opts.indexOnHost + 1}:0`,
  };
}
