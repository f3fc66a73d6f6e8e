// Tests that need an external program (etcd, Prometheus, InfluxDB,
// Chromium, Ceph's manager modules, docker-compose): run when it is there;
// when it is missing, skipped with a line saying what to install, except
// under CI=true (.ci/run installs everything), where a missing program is a
// failing test: CI never passes by skipping silently.

/** `describe` when nothing is missing; else a skipped suite (or, under CI, a failing one) naming what is missing. */
export function describeWith(missing: string | null | undefined | false, install: string): jest.Describe {
  if (!missing) return describe;
  return describeMissing(missing, install);
}

/** `it` when nothing is missing; else a skipped test (or, under CI, a failing one) naming what is missing. */
export function itWith(missing: string | null | undefined | false, install: string): jest.It {
  if (!missing) return it;
  const why = `${missing}: ${install}`;
  if (process.env.CI === 'true') {
    return ((name: string) =>
      it(name, () => {
        throw new Error(`${why} (CI=true: a missing program fails the run)`);
      })) as unknown as jest.It;
  }
  process.stdout.write(`SKIP ${why}\n`);
  return it.skip;
}

function describeMissing(missing: string, install: string): jest.Describe {
  const why = `${missing}: ${install}`;
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
