// This manager's session with a real Ceph cluster's monitors, as mgr.<name>,
// seen from daemon-server: what the msgr2 front door (msgr2/) needs from it
// and what it gives back. The manager role (the mgr.<name> monitor client,
// the beacon) implements it; the front door only reads it.
//
//   rotatingKeys   the mgr service's rotating secrets, which the monitors
//                  seal daemons' and clients' mgr tickets with: the front
//                  door verifies every authorizer with them
//   setServerAddrs where the front door listens (its msgr2 address), for
//                  the beacon's server_addrs: OSDs, MDS, monitors and the
//                  CLI connect there once the MgrMap names this manager
import type { RotatingKeys } from '../../../lib/ceph/cephx/rotating';
import type { MonClient } from '../../../lib/ceph/monclient';
import type { EntityAddr } from '../../../lib/ceph/types';

export interface CephManagerSession {
  /** This manager's name (`x`): it is `mgr.<name>` to the monitors. */
  readonly name: string;
  /** The cluster's fsid ('' until the monitors have told it). */
  readonly fsid: string;
  /** The global id the monitors gave this manager's session (its gid in the MgrMap); 0n before. */
  readonly globalId: bigint;
  /** The mgr service's rotating secrets, kept fresh by the mgr.<name> monitor client. */
  readonly rotatingKeys: RotatingKeys;
  /** The mgr.<name> monitor client. */
  readonly monClient: MonClient;
  /** The front door's bound msgr2 addresses, to be beaconed as this manager's server_addrs. */
  setServerAddrs(addrs: EntityAddr[]): void;
}
