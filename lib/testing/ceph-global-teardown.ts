// jest globalTeardown: stops the run's shared test Ceph cluster, if a test
// file started one.
import { tearDownCephRun } from './ceph-cluster';

export default async function globalTeardown(): Promise<void> {
  await tearDownCephRun();
}
