// Tests talk to real servers on loopback; they transpile only (isolatedModules)
// and `tsc --noEmit` checks types separately in `npm test`.
/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: 'node',
  roots: [
    '<rootDir>/lib',
    '<rootDir>/services',
    '<rootDir>/modules',
    '<rootDir>/cli',
    '<rootDir>/sim',
    '<rootDir>/ceph-feed',
    '<rootDir>/bench',
    '<rootDir>/test',
  ],
  testMatch: ['**/*.test.ts'],
  transform: { '^.+\\.ts$': ['ts-jest', { diagnostics: false }] },
  testTimeout: 60000,
  // One real Ceph cluster for every test file that needs one (lib/testing/ceph-cluster.ts).
  globalSetup: '<rootDir>/lib/testing/ceph-global-setup.ts',
  globalTeardown: '<rootDir>/lib/testing/ceph-global-teardown.ts',
  maxWorkers: 2,
};
