// The layers of mgrpc, checked on every `npm test` (npm run layers). A
// break fails with the rule's name and the import that broke it; each rule
// says why it exists. DEVELOPING.md ("Layers") describes them.
//
//   lib/            ground floor: imports nothing of the project above it
//   services/<s>/   one service; meets the others only through the .proto
//                   contracts (lib/gen); domain/ holds the logic, no gRPC
//   modules/<m>/    a plugin; sees only the SDK (lib/mgr-module.ts)
//   cli/, sim/, ceph-feed/
//                   processes that talk to services through their contracts
//   bench/, test/, **/test/
//                   may start services in-process through their server.ts
/** Product code: everything but tests, test helpers and benchmarks. */
const TESTS = '(^|/)test/|^lib/testing/|^bench/';
/** Top-level folders that are not lib/. */
const ABOVE_LIB = '^(services|modules|cli|sim|bench|ceph-feed|test)/';

/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'lib-is-ground-floor',
      comment:
        'lib/ is shared by everyone, so it knows no service, module, CLI, simulator, feed, benchmark or test above it. Move what both sides need into lib/.',
      severity: 'error',
      from: { path: '^lib/' },
      to: { path: ABOVE_LIB },
    },
    {
      name: 'services-meet-through-contracts',
      comment:
        "A service never imports another service's code: it calls it through its .proto contract (lib/gen) with a client from lib/client.ts. Shared code belongs in lib/.",
      severity: 'error',
      from: { path: '^services/([^/]+)/', pathNot: TESTS },
      to: { path: '^services/', pathNot: '^services/$1/' },
    },
    {
      name: 'domain-has-no-grpc',
      comment:
        "A service's domain/ is its logic without gRPC: no nice-grpc or grpc-js, no clients or servers from lib/, none of its own wiring (main.ts, server.ts, grpc.ts, peers.ts). It declares the small interfaces it needs; the wiring implements them.",
      severity: 'error',
      from: { path: '^services/[^/]+/domain/' },
      to: {
        path: [
          '(^|/)node_modules/(nice-grpc[^/]*|@grpc/[^/]+)/',
          '^lib/(client|server|standby-client|mgr-client)\\.ts$',
          '^services/[^/]+/(main|server|grpc|peers|send-command)\\.ts$',
        ],
      },
    },
    {
      name: 'modules-see-only-the-sdk',
      comment: 'A module is written against the SDK alone (lib/mgr-module.ts: the host API, the errno values, option declarations), so it runs in any host.',
      severity: 'error',
      from: { path: '^modules/([^/]+)/', pathNot: TESTS },
      to: { path: '^(lib|services|cli|sim|bench|ceph-feed|test|modules)/', pathNot: ['^lib/mgr-module\\.ts$', '^modules/$1/'] },
    },
    {
      name: 'processes-talk-through-contracts',
      comment:
        'cli/, sim/ and ceph-feed/ are processes of their own: they reach services through the contracts and lib/, never through a service, a module or each other.',
      severity: 'error',
      from: { path: '^(cli|sim|ceph-feed)/', pathNot: TESTS },
      to: { path: ABOVE_LIB, pathNot: '^$1/' },
    },
    {
      name: 'tests-start-services-through-server-ts',
      comment:
        "Tests and benchmarks of other parts start a service through its server.ts (start<Name>) and call it through its contract; a service's domain/, grpc.ts and wiring are its own tests' business. White-box step profiles go in bench/*.profile.ts.",
      severity: 'error',
      from: { path: TESTS, pathNot: ['^bench/[^/]+\\.profile\\.ts$', '^services/'] },
      to: { path: '^services/([^/]+)/(?!server\\.ts$|test/)' },
    },
    {
      name: 'service-tests-keep-to-their-service',
      comment: "A service's own tests may use its domain; another service's tests start it through its server.ts.",
      severity: 'error',
      from: { path: '^services/([^/]+)/test/' },
      to: { path: '^services/[^/]+/(?!server\\.ts$|test/)', pathNot: '^services/$1/' },
    },
    {
      name: 'product-code-imports-no-tests',
      comment: 'Tests, test helpers (lib/testing/) and benchmarks are not shipped: product code never imports them.',
      severity: 'error',
      from: { pathNot: TESTS },
      to: { path: TESTS },
    },
    {
      name: 'product-code-imports-no-dev-dependencies',
      comment:
        'The image installs dependencies only (npm prune --omit=dev): product code must not need a devDependency. Declare it in dependencies, or keep it to tests.',
      severity: 'error',
      from: { pathNot: TESTS },
      to: { dependencyTypes: ['npm-dev'], dependencyTypesNot: ['type-only'] },
    },
    {
      name: 'no-circular',
      comment:
        'An import loop (type-only imports count) means two files are one concept, or an interface is declared on the wrong side: declare it where it is consumed.',
      severity: 'error',
      from: {},
      to: { circular: true },
    },
    {
      name: 'no-undeclared-packages',
      comment: 'Every package imported is declared in package.json (a package that is only there by chance, as a dependency of another, can vanish).',
      severity: 'error',
      from: {},
      to: { dependencyTypes: ['npm-no-pkg', 'npm-unknown'] },
    },
    {
      name: 'not-to-unresolvable',
      comment: 'An import that resolves to nothing: a typo, or a package missing from package.json.',
      severity: 'error',
      from: {},
      to: { couldNotResolve: true },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^(lib/gen/|dist/|node_modules/|data/|coverage/)' },
    // Type-only imports count: an import loop through types is still a loop.
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { exportsFields: ['exports'], conditionNames: ['import', 'require', 'node', 'default'] },
    reporterOptions: { text: { highlightFocused: true } },
  },
};
