// The modules Ceph Pacific always runs (the MgrMap's always_on_modules for
// release 16, from MgrMonitor's list): enabled from the start and refused by
// `mgr module disable` ("module 'balancer' cannot be disabled (always-on)").
// Where a module is not installed (Ceph's Python modules without Debian's
// ceph-mgr-modules-core) the name stays listed and nothing runs.
export const ALWAYS_ON_MODULES = [
  'balancer',
  'crash',
  'devicehealth',
  'orchestrator',
  'pg_autoscaler',
  'progress',
  'rbd_support',
  'status',
  'telemetry',
  'volumes',
];
