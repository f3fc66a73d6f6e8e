// The simulated OSDs' data disks as their metadata names them: each OSD has
// one whole disk of its host (sdb, sdc, ...; sda is the system disk), and a
// real OSD reports `devices`, `device_ids` (devname=vendor_model_serial) and
// `device_paths` (devname=/dev/disk/by-path/...) for it. The manager builds
// its device list (`ceph device ls`, get('devices')) from these, as Ceph's
// DaemonStateIndex does; devicehealth and the dashboard's OSD page read it.
import { hash32 } from './perf';

/** Linux's name for the i-th SCSI disk (0: sda, 25: sdz, 26: sdaa). */
function diskName(i: number): string {
  let s = '';
  let n = i;
  do {
    s = String.fromCharCode(97 + (n % 26)) + s;
    n = Math.floor(n / 26) - 1;
  } while (n >= 0);
  return `sd${s}`;
}

/** The device keys of one OSD's metadata; indexOnHost: its position among its host's OSDs. */
export function osdDeviceIds(opts: { seed: number; osd: number; indexOnHost: number }): Record<string, string> {
  const dev = diskName(opts.indexOnHost + 1);
  const serial = `SIM${(hash32(opts.seed, opts.osd) % 1e8).toString().padStart(8, '0')}`;
  return {
    devices: dev,
    device_ids: `${dev}=SIMULATED_HDD_${serial}`,
    device_paths: `${dev}=/dev/disk/by-path/pci-0000:00:10.0-scsi-0:0:${opts.indexOnHost + 1}:0`,
  };
}
