// Tests that need an external program (etcd, Prometheus, InfluxDB,
// Chromium, Ceph's manager modules, docker-compose): run when it is there;
// when it is missing, skipped with a line saying what to install, except
// under CI=true (.ci/run installs everything), where a missing program is a
// failing test: CI never passes by skipping silently.

/** What is missing: a reason, several (null or false for what is there), or nothing. */
export type Missing = string | null | undefined | false | Array<string | null | undefined | false>;

function reasonOf(missing: Missing, install?: string): string | null {
  const reasons = (Array.isArray(missing) ? missing : [missing]).filter((m): m is string => !!m);
  if (!reasons.length) return null;
  return install ? `${reasons.join('; ')}: ${install}` : reasons.join('; ');
}

/** `describe` when nothing is missing; else a skipped suite (or, under CI, a failing one) naming what is missing. */
export function describeWith(missing: Missing, install?: string): jest.Describe {
  const why = reasonOf(missing, install);
  if (!why) return describe;
  if (process.env.CI === 'true') {
    return ((name: string) =>
      describe(name, () => {
        it('has what it needs installed', () => {
          throw new Error(`${why} (CI=true: a missing program fails the run)`);
        });
      })) as unknown as jest.Describe;
  }
  process.stdout.write(`SKIP ${why}\n`);
  return describe.skip;
}

/** `it` when nothing is missing; else a skipped test (or, under CI, a failing one) naming what is missing. */
export function itWith(missing: Missing, install?: string): jest.It {
  const why = reasonOf(missing, install);
  if (!why) return it;
  if (process.env.CI === 'true') {
    return ((name: string) =>
      it(name, () => {
        throw new Error(`${why} (CI=true: a missing program fails the run)`);
      })) as unknown as jest.It;
  }
  process.stdout.write(`SKIP ${why}\n`);
  return it.skip;
}
