// jest globalSetup: prepares the run's directory for the shared test Ceph
// cluster (started lazily by the first test file that asks for it) and
// removes clusters left running by a crashed earlier run.
import { setUpCephRun } from './ceph-cluster';

export default async function globalSetup(): Promise<void> {
  await setUpCephRun();
}
