// One real daemon's session with this manager over msgr2, as Ceph's
// DaemonServer keeps it (handle_open, handle_report, ingest_pgstats):
//   MMgrOpen    → MMgrConfigure (stats period and threshold: without it a
//                 daemon never reports), and the session opens in ingest
//   MMgrReport  → declared counters join the session's set, the packed
//                 values are checked against it (sorted path order, three
//                 values for a long-running average) and go to ingest as
//                 they came, unread
//   MPGStats    → an OSD's pg and osd statistics, to ingest
// The counter set belongs to the session: a daemon that reconnects
// declares everything again. A report that does not fit (another daemon's
// name, too many counters, packed values of the wrong length) is a
// SessionError: the session ends, and the daemon's reconnect starts over.
import type { MMgrOpen, MMgrReport } from '../../../lib/ceph/messages/mgr';
import { CounterSchema } from '../../../lib/ceph/messages/perf-counters';
import type { MPGStats } from '../../../lib/ceph/messages/pg-stats';
import type { DaemonReport } from '../../../lib/gen/ceph/mgr/v1/cluster_state';
import { checkPacked } from '../../../lib/counter-values';
import { emptyReport } from '../domain/ingest';
import { ingestType, ReportTranslator } from './report';
import type { CounterLimits } from '../domain/counter-limits';

/** A message that ends its session (never the others), with the reason logged. */
export class SessionError extends Error {
  constructor(
    /** For the metric: 'malformed', 'counter_limit', 'schema'. */
    readonly reason: string,
    message: string,
  ) {
    super(message);
  }
}

/** daemon-server's ingest domain, as the front door feeds it. */
export interface DaemonSink {
  addReport(report: DaemonReport): void;
  /** An OSD's MPGStats; false when the queue is full and they were not taken. */
  addPgStats(osd: number, stats: MPGStats): boolean;
  /**
   * The metadata the monitors hold for a daemon (`osd metadata` and the
   * like, which the map feed keeps), for daemons that send none; undefined
   * when not known (yet).
   */
  metadataOf?(daemon: string): Promise<Record<string, string> | undefined>;
}

/** Daemons whose metadata the monitors keep (Ceph's DaemonServer asks them on open). */
const MONITOR_KNOWN = /^(osd|mds|mon)\./;
/** How often to look again for metadata the monitors did not have yet. */
const METADATA_RETRY_MS = 5000;

export class DaemonSession {
  private readonly schema = new CounterSchema();
  private readonly translator = new ReportTranslator();
  /** The daemon's id as it names itself in its messages ("0" for osd.0). */
  private readonly id: string;
  /** Metadata still to find (a daemon that sent none); when it was last looked for. */
  private metadataWanted = false;
  private metadataLookedAt = 0;
  /** What opened the session (metadata and status kept current), to declare it again. */
  private opening: DaemonReport | null = null;

  constructor(
    /** "osd.0", "mon.a", "rgw.gw1". */
    readonly daemon: string,
    private readonly sink: DaemonSink,
    /** The limits on declared counters, shared with the gRPC door. */
    private readonly limits: CounterLimits,
  ) {
    this.id = daemon.slice(daemon.indexOf('.') + 1);
  }

  /** The counters declared on this session. */
  get declared(): number {
    return this.schema.size;
  }

  open(m: MMgrOpen): void {
    this.opening = {
      ...emptyReport(this.daemon),
      opened: true,
      serviceName: m.serviceName,
      serviceDaemon: m.serviceDaemon,
      metadata: m.daemonMetadata,
      status: m.daemonStatus,
      hasStatus: m.serviceDaemon,
    };
    this.sink.addReport(this.opening);
    // As Ceph's DaemonServer asks the monitors for `osd metadata` on open:
    // OSDs, MDS and monitors send none, and the map feed has it.
    this.metadataWanted = !Object.keys(m.daemonMetadata).length && MONITOR_KNOWN.test(this.daemon) && !!this.sink.metadataOf;
    this.lookUpMetadata();
  }

  /** Looks the daemon's metadata up (at most every few seconds until found) and gives it to ingest. */
  private lookUpMetadata(now = Date.now()): void {
    if (!this.metadataWanted || now - this.metadataLookedAt < METADATA_RETRY_MS) return;
    this.metadataLookedAt = now;
    this.sink.metadataOf!(this.daemon).then(
      (metadata) => {
        if (!metadata || !this.metadataWanted) return;
        this.metadataWanted = false;
        if (this.opening) this.opening = { ...this.opening, metadata };
        this.sink.addReport({ ...emptyReport(this.daemon), metadata });
      },
      () => undefined, // looked for again with a later report
    );
  }

  report(m: MMgrReport): void {
    if (m.daemonName !== this.id) throw new SessionError('malformed', `a report for '${m.daemonName}' on ${this.daemon}'s session`);
    if (m.declareTypes.length || m.undeclareTypes.length) {
      // Counted as declared (a path declared again or undeclared without being declared counts once, as Ceph's set keeps it).
      const from = this.schema.size;
      const to = this.schema.sizeAfter(m.declareTypes, m.undeclareTypes);
      const over = this.limits.admit(this.daemon, from, to, m.declareTypes);
      if (over) throw new SessionError('counter_limit', over);
    }
    this.schema.update(m.declareTypes, m.undeclareTypes);
    if (m.packed.length) {
      if (m.packed.length !== this.schema.packedLength) {
        throw new SessionError(
          'schema',
          `${this.daemon}'s packed counters are ${m.packed.length} bytes; its ${this.schema.size} declared counters take ${this.schema.packedLength}`,
        );
      }
      // the header too: cluster-state takes these bytes as they are
      const problem = checkPacked(m.packed, (this.schema.packedLength - 6) / 8);
      if (problem) throw new SessionError('schema', `${this.daemon}'s packed counters: ${problem}`);
    }
    const report = this.translator.translate(this.daemon, m);
    if (report.hasStatus && this.opening) this.opening = { ...this.opening, status: report.status, hasStatus: true };
    this.sink.addReport(report);
    this.lookUpMetadata();
  }

  /** The session ended: its counters no longer count against the limits. */
  close(): void {
    this.limits.release(this.schema.size);
  }

  /** The session as a new one with every counter it declared (cluster-state restarted and forgot it); null before its open. */
  redeclare(): DaemonReport | null {
    return this.opening && { ...this.opening, declare: this.schema.declared.map(ingestType) };
  }

  /** False when ingest had no room (the OSD's next report, a full state, replaces it). */
  pgStats(m: MPGStats): boolean {
    return this.sink.addPgStats(Number(this.id), m);
  }
}
