// The per-call proof (lib/auth/): what a server accepts and refuses, on a
// clock the test controls; then on real gRPC servers on loopback, including
// a fake server that collects a client's proof and replays it to the real one.
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { createServer, Metadata, Server, Status } from 'nice-grpc';
import { HealthDefinition } from 'nice-grpc-server-health';
import { connect } from '../client';
import { DaemonServerServiceDefinition } from '../gen/ceph/mgr/v1/daemon_server';
import { formatKeyring, newKey } from '../keyring';
import { startService, RunningService } from '../server';
import { callerOf, RuleTable } from '../auth/grpc';
import { asCredentials, ENTITY_HEADER, PROOF_HEADER, ProofVerifier, signCall } from '../auth/proof';
import { KeyringKeys, keyringCredentials } from '../auth/keys';

const ADMIN = newKey();
const RO = newKey();
const METHOD = '/ceph.mgr.v1.DaemonServerService/Command';

describe('ProofVerifier', () => {
  let now = 1_700_000_000_000;
  const keys: Record<string, string> = { 'client.admin': ADMIN };
  const verifier = () => new ProofVerifier({ keysOf: (e) => (keys[e] ? [keys[e]] : []), isAudience: (a) => a === '127.0.0.1:7300', now: () => now });
  const admin = asCredentials({ entity: 'client.admin', key: ADMIN });

  it('accepts a fresh proof once, naming the entity', () => {
    const v = verifier();
    const p = signCall(admin, '127.0.0.1:7300', METHOD, now);
    expect(v.verify(p.entity, p.proof, METHOD)).toBe('client.admin');
    expect(() => v.verify(p.entity, p.proof, METHOD)).toThrow(/already used/);
  });

  it('every proof has a nonce of its own, across refills of the random pool, and each verifies once', () => {
    const v = verifier();
    const nonces = new Set<string>();
    for (let i = 0; i < 1000; i++) {
      const p = signCall(admin, '127.0.0.1:7300', METHOD, now);
      const nonce = p.proof.split(' ')[2];
      expect(nonce).toMatch(/^[A-Za-z0-9_-]{22}$/); // 16 random bytes
      nonces.add(nonce);
      expect(v.verify(p.entity, p.proof, METHOD)).toBe('client.admin');
    }
    expect(nonces.size).toBe(1000);
    expect(v.remembered).toBe(1000);
  });

  it('refuses a wrong key, an unknown entity, another audience, another method, no proof and garbage', () => {
    const v = verifier();
    const wrong = signCall(asCredentials({ entity: 'client.admin', key: newKey() }), '127.0.0.1:7300', METHOD, now);
    expect(() => v.verify(wrong.entity, wrong.proof, METHOD)).toThrow(/authentication failed for 'client.admin'/);
    const nobody = signCall(asCredentials({ entity: 'client.nobody', key: ADMIN }), '127.0.0.1:7300', METHOD, now);
    expect(() => v.verify(nobody.entity, nobody.proof, METHOD)).toThrow(/authentication failed for 'client.nobody'/);
    const elsewhere = signCall(admin, '127.0.0.1:9999', METHOD, now);
    expect(() => v.verify(elsewhere.entity, elsewhere.proof, METHOD)).toThrow(/is for '127.0.0.1:9999', not for this server/);
    const other = signCall(admin, '127.0.0.1:7300', '/ceph.mgr.v1.StandbyService/FailMgr', now);
    expect(() => v.verify(other.entity, other.proof, METHOD)).toThrow(/authentication failed/);
    expect(() => v.verify(undefined, undefined, METHOD)).toThrow(/no credentials/);
    expect(() => v.verify('client.admin', 'v1 x y z w', METHOD)).toThrow(/malformed/);
    expect(() => v.verify('client.admin', 'AQD' + 'A'.repeat(600), METHOD)).toThrow(/too long/);
    expect(() => v.verify('client.admin', ADMIN, METHOD)).toThrow(/not a v1 proof/);
    expect(v.remembered).toBe(0);
  });

  it('bounds a proof in time: expired after its lifetime, refused from beyond the allowed skew', () => {
    const v = verifier();
    const old = signCall(admin, '127.0.0.1:7300', METHOD, now - 60_001);
    expect(() => v.verify(old.entity, old.proof, METHOD)).toThrow(/expired/);
    const ahead = signCall(admin, '127.0.0.1:7300', METHOD, now + 30_001);
    expect(() => v.verify(ahead.entity, ahead.proof, METHOD)).toThrow(/from the future/);
    const skewed = signCall(admin, '127.0.0.1:7300', METHOD, now + 29_000);
    expect(v.verify(skewed.entity, skewed.proof, METHOD)).toBe('client.admin');
  });

  it('forgets nonces once their proofs have expired', () => {
    const v = verifier();
    for (let i = 0; i < 5; i++) {
      const p = signCall(admin, '127.0.0.1:7300', METHOD, now);
      v.verify(p.entity, p.proof, METHOD);
    }
    expect(v.remembered).toBe(5);
    now += 60_001;
    const p = signCall(admin, '127.0.0.1:7300', METHOD, now);
    v.verify(p.entity, p.proof, METHOD);
    expect(v.remembered).toBe(1);
  });
});

describe('KeyringKeys', () => {
  it('sees a rotated key at once and keeps the previous one for its grace only', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'auth-keys-'));
    const file = path.join(dir, 'keyring');
    const write = (key: string) => {
      fs.writeFileSync(`${file}.new`, formatKeyring([{ entity: 'client.admin', key, caps: { mgr: 'allow *' } }]));
      fs.renameSync(`${file}.new`, file);
    };
    try {
      write(ADMIN);
      const keys = new KeyringKeys(file, { previousKeyMs: 100 });
      expect(keys.keysOf('client.admin', false)).toEqual([ADMIN]);
      const next = newKey();
      write(next);
      expect(keys.keysOf('client.admin', false)).toEqual([ADMIN]); // not looked at yet
      expect(keys.keysOf('client.admin', true)).toEqual([next, ADMIN]);
      await new Promise((r) => setTimeout(r, 150));
      expect(keys.keysOf('client.admin', true)).toEqual([next]);
      expect(keys.keysOf('client.nobody', true)).toEqual([]);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('proofs on gRPC', () => {
  let dir: string;
  let keyringPath: string;
  let real: RunningService;
  let fake: Server;
  let fakePort: number;
  const seenByFake: Metadata[] = [];
  const seenByReal: Metadata[] = [];
  const rules: RuleTable = {
    Command: () => null,
    GetCommandDescriptions: (c) => (c.caps.mgr === 'allow *' ? null : "needs mgr caps 'allow *'"),
  };

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'auth-test-'));
    keyringPath = path.join(dir, 'keyring');
    fs.writeFileSync(
      keyringPath,
      formatKeyring([
        { entity: 'client.admin', key: ADMIN, caps: { mgr: 'allow *' } },
        { entity: 'client.ro', key: RO, caps: { mgr: 'allow r' } },
      ]),
      { mode: 0o600 },
    );
    const impl = (seen: Metadata[]) => ({
      async command(_req: unknown, ctx: { metadata: Metadata }) {
        seen.push(ctx.metadata);
        return { result: { retcode: 0, stdout: callerOf(ctx as never)?.entity ?? 'nobody', stderr: '' } };
      },
      async getCommandDescriptions() {
        return { commands: [] };
      },
      // eslint-disable-next-line require-yield -- never reached: the table has no rule for it
      async *session() {
        throw new Error('unreachable');
      },
    });
    real = await startService(
      {
        name: 'real',
        host: '127.0.0.1',
        port: 0,
        metricsPort: -1,
        logLevel: 'error',
        auth: { keyringPath, tables: { [DaemonServerServiceDefinition.fullName]: rules } },
      },
      (server) => {
        server.add(DaemonServerServiceDefinition, impl(seenByReal) as never);
        return [DaemonServerServiceDefinition.fullName];
      },
    );
    real.setServing(true);
    fake = createServer();
    fake.add(DaemonServerServiceDefinition, impl(seenByFake) as never);
    fakePort = await fake.listen('127.0.0.1:0');
  });

  afterAll(async () => {
    await real?.stop();
    fake?.forceShutdown();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const req = { prefix: 'hello', args: '{}', inbuf: Buffer.alloc(0) };
  const asEntity = (entity: string, file = keyringPath) => ({ credentials: keyringCredentials(file, entity) });

  it('a call with a proof gets through and the handler knows the entity; the key is not in the metadata', async () => {
    const p = connect(DaemonServerServiceDefinition, real.address, undefined, asEntity('client.admin'));
    try {
      expect((await p.client.command(req)).result!.stdout).toBe('client.admin');
      const md = seenByReal[seenByReal.length - 1];
      const sent = [...md].map(([, v]) => String(v)).join(' ');
      expect(sent).not.toContain(ADMIN);
      expect(md.get(ENTITY_HEADER)).toBe('client.admin');
    } finally {
      p.close();
    }
  });

  it('UNAUTHENTICATED without a proof or with a wrong key; PERMISSION_DENIED naming the cap, or for a method no rule allows', async () => {
    const bare = connect(DaemonServerServiceDefinition, real.address);
    const wrong = connect(DaemonServerServiceDefinition, real.address, undefined, { credentials: asCredentials({ entity: 'client.admin', key: newKey() }) });
    const ro = connect(DaemonServerServiceDefinition, real.address, undefined, asEntity('client.ro'));
    try {
      await expect(bare.client.command(req)).rejects.toMatchObject({ code: Status.UNAUTHENTICATED, details: expect.stringMatching(/no credentials/) });
      // a key sent as it was before (x-mgr-key) is no proof
      const old = Metadata();
      old.set('x-mgr-entity', 'client.admin');
      old.set('x-mgr-key', ADMIN);
      await expect(bare.client.command(req, { metadata: old })).rejects.toMatchObject({ code: Status.UNAUTHENTICATED });
      await expect(wrong.client.command(req)).rejects.toMatchObject({ code: Status.UNAUTHENTICATED, details: expect.stringMatching(/wrong key/) });
      expect((await ro.client.command(req)).result!.stdout).toBe('client.ro');
      await expect(ro.client.getCommandDescriptions({})).rejects.toMatchObject({
        code: Status.PERMISSION_DENIED,
        details: "client.ro may not call GetCommandDescriptions: needs mgr caps 'allow *'",
      });
      const stream = ro.client.session((async function* () {})());
      await expect(
        (async () => {
          for await (const _ of stream) void _;
        })(),
      ).rejects.toMatchObject({ code: Status.PERMISSION_DENIED, details: expect.stringMatching(/no rule allows/) });
      // health stays open to probes
      const health = connect(HealthDefinition, real.address);
      expect((await health.client.check({ service: '' })).status).toBe(1);
      health.close();
    } finally {
      bare.close();
      wrong.close();
      ro.close();
    }
  });

  it('a fake server learns nothing it can replay: the proof it got is refused by the real one, as is a replay of a real call', async () => {
    const victim = connect(DaemonServerServiceDefinition, `127.0.0.1:${fakePort}`, undefined, asEntity('client.admin'));
    const attacker = connect(DaemonServerServiceDefinition, real.address);
    try {
      await victim.client.command(req);
      const stolen = seenByFake[seenByFake.length - 1];
      expect(stolen.get(PROOF_HEADER)).toBeTruthy();
      const replay = Metadata();
      replay.set(ENTITY_HEADER, stolen.get(ENTITY_HEADER)!);
      replay.set(PROOF_HEADER, stolen.get(PROOF_HEADER)!);
      await expect(attacker.client.command(req, { metadata: replay })).rejects.toMatchObject({
        code: Status.UNAUTHENTICATED,
        details: expect.stringMatching(/is for '127\.0\.0\.1:\d+', not for this server/),
      });
      // one seen on its way to the real server is good for that one call only
      const p = connect(DaemonServerServiceDefinition, real.address, undefined, asEntity('client.admin'));
      await p.client.command(req);
      p.close();
      const seen = seenByReal[seenByReal.length - 1];
      const again = Metadata();
      again.set(ENTITY_HEADER, seen.get(ENTITY_HEADER)!);
      again.set(PROOF_HEADER, seen.get(PROOF_HEADER)!);
      await expect(attacker.client.command(req, { metadata: again })).rejects.toMatchObject({
        code: Status.UNAUTHENTICATED,
        details: expect.stringMatching(/already used/),
      });
    } finally {
      victim.close();
      attacker.close();
    }
  });

  it('rotates a key while calls keep succeeding; the old key is good only for a grace period', async () => {
    const p = connect(DaemonServerServiceDefinition, real.address, undefined, asEntity('client.admin'));
    const rotated = newKey();
    try {
      const results: string[] = [];
      for (let i = 0; i < 40; i++) {
        if (i === 10) {
          // as an operator would: the whole file replaced at once
          const tmp = `${keyringPath}.new`;
          fs.writeFileSync(
            tmp,
            formatKeyring([
              { entity: 'client.admin', key: rotated, caps: { mgr: 'allow *' } },
              { entity: 'client.ro', key: RO, caps: { mgr: 'allow r' } },
            ]),
            { mode: 0o600 },
          );
          fs.renameSync(tmp, keyringPath);
        }
        results.push((await p.client.command(req)).result!.stdout);
        await new Promise((r) => setTimeout(r, 50));
      }
      expect(results).toEqual(Array(40).fill('client.admin'));
      // the new key signs now; the old one still lands within its grace
      const fresh = connect(DaemonServerServiceDefinition, real.address, undefined, { credentials: asCredentials({ entity: 'client.admin', key: rotated }) });
      const stale = connect(DaemonServerServiceDefinition, real.address, undefined, { credentials: asCredentials({ entity: 'client.admin', key: ADMIN }) });
      expect((await fresh.client.command(req)).result!.stdout).toBe('client.admin');
      expect((await stale.client.command(req)).result!.stdout).toBe('client.admin');
      fresh.close();
      stale.close();
    } finally {
      p.close();
    }
  });

  it('MGR_AUTH=none (auth: null) is refused on an address other than loopback', async () => {
    await expect(
      startService({ name: 'open', host: '0.0.0.0', port: 0, metricsPort: -1, logLevel: 'error', auth: null }, (server) => {
        server.add(DaemonServerServiceDefinition, {} as never);
        return [DaemonServerServiceDefinition.fullName];
      }),
    ).rejects.toThrow(/allowed only on a loopback address, not on 0\.0\.0\.0/);
  });
});
