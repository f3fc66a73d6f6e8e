// Packet captures on loopback for live tests, with Debian's tcpdump (run as
// root, as CI is): what a real observer of the wire would see, read back
// with lib/ceph/testing/pcap.ts.
//
//   const cap = await startCapture([30000, 30002], '/tmp/x.pcap');
//   ... traffic ...
//   await cap.stop();   // flushed and closed; cap.file is complete
import { spawn } from 'child_process';
import * as fs from 'fs';

export const TCPDUMP = '/usr/bin/tcpdump';

/** Why captures cannot run here, or null. */
export function tcpdumpMissing(): string | null {
  if (!fs.existsSync(TCPDUMP)) return `missing ${TCPDUMP}: install Debian's tcpdump (.ci/run installs it)`;
  if (process.getuid && process.getuid() !== 0) return 'tcpdump needs root to capture on lo';
  return null;
}

export interface Capture {
  readonly file: string;
  /** Stops tcpdump (SIGINT, by pid) and resolves once it has written everything. */
  stop(): Promise<void>;
}

/** Captures TCP on lo to and from `ports`; resolves once tcpdump is listening. */
export async function startCapture(ports: number[], file: string, timeoutMs = 20000): Promise<Capture> {
  const missing = tcpdumpMissing();
  if (missing) throw new Error(missing);
  const filter = `tcp and (${ports.map((p) => `port ${p}`).join(' or ')})`;
  const child = spawn(TCPDUMP, ['-i', 'lo', '-s', '0', '-U', '-n', '-w', file, filter], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  await new Promise<void>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`tcpdump did not start listening within ${timeoutMs} ms: ${stderr}`)), timeoutMs);
    child.stderr.on('data', (d) => {
      stderr += d;
      if (/listening on/.test(stderr)) {
        clearTimeout(t);
        resolve();
      }
    });
    void exited.then((code) => {
      clearTimeout(t);
      reject(new Error(`tcpdump exited (${code}) before listening: ${stderr.trim()}`));
    });
  });
  return {
    file,
    stop: async () => {
      if (child.exitCode === null) child.kill('SIGINT');
      await exited;
    },
  };
}

/** `it` for a test that captures: under CI=true a missing tcpdump fails the file; elsewhere the test is skipped with the reason printed. */
export function itCaptures(file: string): jest.It {
  const missing = tcpdumpMissing();
  if (!missing) return it;
  if (process.env.CI === 'true') throw new Error(`${file} needs packet captures: ${missing}`);
  process.stdout.write(`SKIP capture test of ${file}: ${missing}\n`);
  return it.skip;
}
