// The proof on gRPC: the client middleware that signs every call (attached
// once, in lib/client.ts) and the server middleware that checks it and the
// service's table of who may call what (installed once, in lib/server.ts).
// Handlers learn who called with callerOf(context).
import { CallContext, ClientMiddleware, Metadata, ServerError, ServerMiddleware, Status } from 'nice-grpc';
import type { KeyringEntry } from '../keyring';
import type { Logger } from '../log';
import { CallCredentials, ENTITY_HEADER, PROOF_HEADER, ProofError, ProofVerifier, signCall } from './proof';

/** Per-call options of the client middleware (set per client by lib/client.ts). */
export interface CallProofOptions {
  /** Who calls; without it no proof is sent. */
  credentials?: CallCredentials;
  /** The address the call goes to (host:port), which the proof is bound to. */
  audience?: string;
}

/** Sets x-mgr-entity and a fresh x-mgr-proof for one call of `method` to `audience` (nice-grpc's or grpc-js's metadata). */
export function setCallProof(md: { set(key: string, value: string): unknown }, credentials: CallCredentials, audience: string, method: string): void {
  const signed = signCall(credentials, audience, method);
  md.set(ENTITY_HEADER, signed.entity);
  md.set(PROOF_HEADER, signed.proof);
}

/** Adds x-mgr-entity and a fresh x-mgr-proof to each call (each retry gets its own). */
export const callProofMiddleware: ClientMiddleware<CallProofOptions> = async function* (call, options) {
  const { credentials, audience, ...rest } = options;
  if (!credentials || !audience) return yield* call.next(call.request, rest);
  const md = Metadata(rest.metadata);
  setCallProof(md, credentials, audience, call.method.path);
  return yield* call.next(call.request, { ...rest, metadata: md });
};

/** The host:port a channel target names ("dns:127.0.0.1:7300" -> "127.0.0.1:7300"). */
export function targetAddress(target: string): string {
  return target.replace(/^(dns|ipv4|ipv6):(\/\/[^/]*\/)?/, '');
}

const LOOPBACK_HOSTS = /^(127\.\d{1,3}\.\d{1,3}\.\d{1,3}|localhost|\[::1\]|::1)$/;

/** Whether a listening host is loopback only (where MGR_AUTH=none may be allowed). */
export function isLoopbackHost(host: string): boolean {
  return LOOPBACK_HOSTS.test(host);
}

/**
 * The audiences a server at `host:port` answers to: its listening address,
 * any loopback name with its port (no other server can hold that port), and
 * `extra` (advertised addresses, names it is reached by: MGR_AUTH_AUDIENCE).
 */
export function audienceCheck(host: string, port: () => number, extra: string[]): (audience: string) => boolean {
  const named = new Set(extra.map((a) => a.trim()).filter(Boolean));
  return (audience) => {
    if (named.has(audience)) return true;
    const m = /^(.*):(\d+)$/.exec(audience);
    if (!m || Number(m[2]) !== port()) return false;
    return isLoopbackHost(m[1]) || (m[1] === host && host !== '0.0.0.0' && host !== '::' && host !== '[::]');
  };
}

/** Who called, as authenticated: the entity and its caps from the keyring. */
export interface Caller {
  entity: string;
  caps: Record<string, string>;
}

/**
 * Whether `caller` may make this call: null if so, else what it lacks (the
 * PERMISSION_DENIED message, naming the missing cap). `request` is the
 * request of a unary or server-streaming call (undefined for streams in).
 */
export type Rule = (caller: Caller, request: unknown) => string | null;

/** Every method of a service (by name) with its rule: a service's authorisation table. */
export type RuleTable = Record<string, Rule>;

export interface ServerAuth {
  verifier: ProofVerifier;
  /** The caller's keyring entry (its caps), read after its proof verified. */
  entryOf: (entity: string) => KeyringEntry | undefined;
  /** Tables by service (full name, e.g. ceph.mgr.v1.StandbyService); a method without a rule is refused. */
  tables: Record<string, RuleTable>;
}

/** Methods anyone may call: health (Kubernetes probes) and reflection (the public .proto contracts). */
const EXEMPT = /^\/grpc\.(health\.v1\.Health|reflection\.v1(alpha)?\.ServerReflection)\//;

const callers = new WeakMap<object, Caller>();

/** The authenticated caller of a call (undefined when the server runs without authentication). */
export function callerOf(context: CallContext): Caller | undefined {
  return callers.get(context);
}

/**
 * Checks one call's proof (`header` reads its x-mgr-entity and x-mgr-proof)
 * and its service's rule: the caller, or a ServerError (UNAUTHENTICATED or
 * PERMISSION_DENIED), logged to the audit channel. `request` as for Rule.
 */
export function checkCall(auth: ServerAuth, log: Logger, path: string, header: (name: string) => string | undefined, request: unknown): Caller {
  const [, service, method] = /^\/([^/]+)\/([^/]+)$/.exec(path) ?? [];
  const entityHeader = header(ENTITY_HEADER);
  let caller: Caller;
  try {
    const entity = auth.verifier.verify(entityHeader, header(PROOF_HEADER), path);
    caller = { entity, caps: auth.entryOf(entity)?.caps ?? {} };
  } catch (e) {
    if (!(e instanceof ProofError)) throw e;
    log.warn('authentication failed', { channel: 'audit', entity: entityHeader?.slice(0, 128), method: path, reason: e.message });
    throw new ServerError(Status.UNAUTHENTICATED, e.message);
  }
  const rule = auth.tables[service]?.[method];
  const missing = rule ? rule(caller, request) : `no rule allows ${path}`;
  if (missing !== null) {
    log.warn('call refused', { channel: 'audit', entity: caller.entity, method: path, missing });
    throw new ServerError(Status.PERMISSION_DENIED, `${caller.entity} may not call ${method}: ${missing}`);
  }
  return caller;
}

/** Checks each call's proof and the service's rule (checkCall); UNAUTHENTICATED or PERMISSION_DENIED otherwise. */
export function authMiddleware(auth: ServerAuth, log: Logger): ServerMiddleware {
  return async function* (call, context) {
    const path = call.method.path;
    if (EXEMPT.test(path)) return yield* call.next(call.request, context);
    const caller = checkCall(auth, log, path, (name) => context.metadata.get(name) as string | undefined, call.requestStream ? undefined : call.request);
    const ctx = { ...context };
    callers.set(ctx, caller);
    return yield* call.next(call.request, ctx);
  };
}
