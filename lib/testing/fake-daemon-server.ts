// A small in-test DaemonServerService that records what arrives and can
// misbehave on cue: for the tests of what talks to daemon-server (MgrClient,
// the simulator's daemons) where a fault must be injected at an exact point.
import { ENTITY_HEADER, PROOF_HEADER } from '../auth/proof';
import { createServer, Server, CallContext } from 'nice-grpc';
import { AsyncQueue } from '../async-queue';
import {
  DaemonServerServiceDefinition,
  SessionRequest,
  SessionResponse,
  SessionReport,
  SessionOpen,
  SessionConfigure,
  SessionPgStats,
  CommandRequest,
} from '../gen/ceph/mgr/v1/daemon_server';
import type { PerfCounterType } from '../gen/ceph/mgr/v1/cluster_state';
import { CounterLayout, unpackCounterValues } from '../counter-values';

export interface RecordedSession {
  open?: SessionOpen;
  entity?: string;
  /** The caller's proof, as a fake server sees it (tests try to replay it to a real one). */
  proof?: string;
  reports: SessionReport[];
  pgStats: SessionPgStats[];
  closed: boolean;
  push: (cfg: SessionConfigure) => void;
}

export class FakeDaemonServer {
  sessions: RecordedSession[] = [];
  commands: CommandRequest[] = [];
  configure: SessionConfigure = { statsPeriod: 0.02, statsThreshold: 0 };
  port = 0;
  private server?: Server;

  async start(port = 0): Promise<void> {
    // eslint-disable-next-line @typescript-eslint/no-this-alias -- the request generator below is a function*, which has its own this
    const self = this;
    const server = createServer();
    server.add(DaemonServerServiceDefinition, {
      async *session(requests: AsyncIterable<SessionRequest>, ctx: CallContext) {
        const out = new AsyncQueue<SessionResponse>();
        const rec: RecordedSession = {
          reports: [],
          pgStats: [],
          closed: false,
          entity: ctx.metadata.get(ENTITY_HEADER),
          proof: ctx.metadata.get(PROOF_HEADER),
          push: (cfg) => out.push({ msg: { $case: 'configure', value: cfg } }),
        };
        self.sessions.push(rec);
        (async () => {
          try {
            for await (const req of requests) {
              const m = req.msg;
              if (m?.$case === 'open') {
                rec.open = m.value;
                rec.push(self.configure);
              } else if (m?.$case === 'report') rec.reports.push(m.value);
              else if (m?.$case === 'pgStats') rec.pgStats.push(m.value);
              else if (m?.$case === 'close') rec.closed = true;
            }
          } catch {
            /* the stream was cut */
          }
          out.end();
        })();
        yield* out;
      },
      async command(req: CommandRequest) {
        self.commands.push(req);
        return { result: { retcode: 0, stdout: `did ${req.prefix}`, stderr: '' } };
      },
      async getCommandDescriptions() {
        return { commands: [] };
      },
    });
    this.port = await server.listen(`127.0.0.1:${port}`);
    this.server = server;
  }

  async stop(): Promise<void> {
    this.server?.forceShutdown();
    this.server = undefined;
  }

  get address(): string {
    return `127.0.0.1:${this.port}`;
  }
}

/** The values of report i of a session by path (declares and undeclares up to it applied). */
export function reportValues(s: RecordedSession, i: number): Record<string, bigint[]> {
  const types = new Map<string, PerfCounterType>();
  for (const r of s.reports.slice(0, i + 1)) {
    for (const t of r.declareTypes) types.set(t.path, t);
    for (const p of r.undeclareTypes) types.delete(p);
  }
  const values = s.reports[i].counterValues;
  if (!values?.length) return {};
  return unpackCounterValues(values, new CounterLayout([...types.values()].map((t) => [t.path, t.type])));
}

/** Polls until cond() holds; the jest timeout bounds it. */
export async function until(cond: () => boolean): Promise<void> {
  while (!cond()) await new Promise((r) => setTimeout(r, 5));
}
