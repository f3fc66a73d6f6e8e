// The restful API as Ceph Pacific's restful module serves it
// (/usr/share/ceph/mgr/restful/api/): every path and method, the same JSON
// shapes and the same messages. Reads come from the module's get() views;
// every write becomes monitor commands submitted as a request (Ceph's
// submit_request), run through sendCommand (commands.ts).
import type { Command, CommandsRequest } from './requests';
import { crushRuleOsds } from './crush';
import { API_DOC } from './doc';

/* eslint-disable @typescript-eslint/no-explicit-any */
type Json = any;

/** An HTTP answer other than 200; the message goes to the client as {"message": ...}. */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

/** What the API needs from the module. */
export interface RestfulContext {
  get(what: string): Promise<Json>;
  getMetadata(type: string, id: string): Promise<Json>;
  listServers(): Promise<Json>;
  getServer(host: string): Promise<Json>;
  getAllPerfCounters(): Promise<Json>;
  /** Every request, oldest first. */
  requests(): CommandsRequest[];
  forget(id: string): CommandsRequest | undefined;
  /** Queues a request (waves of commands); Ceph's submit_request. */
  submit(waves: Command[][]): CommandsRequest;
  warn(message: string): void;
}

export interface ApiCall {
  method: string;
  /** The path's segments, decoded. */
  parts: string[];
  query: URLSearchParams;
  /** The body parsed as JSON (400 when it is not). */
  json(): Promise<unknown>;
}

/** The paths that need no key, as in Ceph (the API's description and its documentation). */
export function isPublic(parts: string[]): boolean {
  return parts.length === 0 || (parts.length === 1 && parts[0] === 'doc');
}

// Ceph's restful/common.py.
const OSD_FLAGS = ['pause', 'noup', 'nodown', 'noout', 'noin', 'nobackfill', 'norecover', 'noscrub', 'nodeep-scrub'];
export const OSD_IMPLEMENTED_COMMANDS = ['scrub', 'deep-scrub', 'repair'];
const POOL_PROPERTIES_1 = ['size', 'min_size', 'pg_num', 'crush_rule', 'hashpspool'];
const POOL_PROPERTIES_2 = ['pgp_num'];
const POOL_QUOTA_PROPERTIES: Array<[string, string]> = [
  ['quota_max_bytes', 'max_bytes'],
  ['quota_max_objects', 'max_objects'],
];
const POOL_ARGS = [...POOL_PROPERTIES_1, ...POOL_PROPERTIES_2, ...POOL_QUOTA_PROPERTIES.map(([a]) => a)];

const invalidPoolArgs = (args: Record<string, unknown>) => Object.keys(args).filter((a) => !POOL_ARGS.includes(a));

/** Ceph's pool_update_commands: `osd pool set` and `set-quota` first, pgp_num in a second wave. */
function poolUpdateCommands(pool: string, args: Record<string, unknown>): Command[][] {
  const a = { ...args };
  if ('pg_num' in a && !('pgp_num' in a)) a.pgp_num = a.pg_num;
  const first: Command[] = [];
  const second: Command[] = [];
  for (const v of POOL_PROPERTIES_1) if (v in a) first.push({ prefix: 'osd pool set', pool, var: v, val: a[v] });
  for (const [v, field] of POOL_QUOTA_PROPERTIES) if (v in a) first.push({ prefix: 'osd pool set-quota', pool, field, val: String(a[v]) });
  for (const v of POOL_PROPERTIES_2) if (v in a) second.push({ prefix: 'osd pool set', pool, var: v, val: a[v] });
  return [first, second];
}

/** The pool as restful shows it: pgp_num instead of pg_placement_num. */
function withPgpNum(pool: Json): Json {
  const { pg_placement_num, ...rest } = pool;
  return pg_placement_num === undefined ? pool : { ...rest, pgp_num: pg_placement_num };
}

/** Ceph's ?page=N on lists: 100 a page, 0 the first, -1 the last. */
function paginate(query: URLSearchParams, list: unknown): unknown {
  const raw = query.get('page');
  if (raw === null || !Array.isArray(list)) return list;
  if (!/^-?\d+$/.test(raw.trim())) throw new HttpError(500, 'The requested page is not an integer');
  let page = Number(raw) + 1;
  page = page > 0 ? page * 100 : list.length - page * 100;
  return list.slice(Math.max(0, page - 100), Math.max(0, page));
}

function intSegment(v: string, what: string): number {
  if (!/^-?\d+$/.test(v)) throw new HttpError(400, `${what} must be a whole number, got '${v}'`);
  return Number(v);
}

function object(v: unknown, example: string): Record<string, unknown> {
  if (!v || typeof v !== 'object' || Array.isArray(v)) throw new HttpError(400, `the body must be a JSON object, e.g. ${example}`);
  return v as Record<string, unknown>;
}

export class RestfulApi {
  constructor(private readonly ctx: RestfulContext) {}

  /** Dispatch: [status, body]; unknown paths 404, known paths with another method 405. */
  async route(call: ApiCall): Promise<[number, unknown]> {
    const { method, parts: p } = call;
    const allow = (...methods: string[]) => {
      if (!methods.includes(method))
        throw new HttpError(405, `${method} is not allowed on /${p.join('/')} (allowed: ${methods.join(', ')})`, { Allow: methods.join(', ') });
    };
    const notFound = () => new HttpError(404, `no such endpoint: /${p.join('/')}`);
    const at = (n: number) => p.length === n;
    switch (p[0]) {
      case undefined:
        allow('GET');
        return [
          200,
          {
            api_version: 1,
            auth: 'Use "ceph restful create-key <key>" to create a key pair, pass it as HTTP Basic auth to authenticate',
            doc: 'See /doc endpoint',
            info: 'Ceph Manager RESTful API server',
          },
        ];
      case 'doc':
        if (!at(1)) throw notFound();
        allow('GET');
        return [200, API_DOC];
      case 'config':
        if (p[1] === 'cluster' && at(2)) {
          allow('GET');
          return [200, (await this.ctx.get('config')) ?? {}];
        }
        if (p[1] === 'cluster' && at(3)) {
          allow('GET');
          return [200, ((await this.ctx.get('config')) ?? {})[p[2]] ?? null];
        }
        if (p[1] === 'osd' && at(2)) {
          allow('GET', 'PATCH');
          return method === 'GET' ? [200, await this.osdFlags()] : [200, this.patchOsdFlags(object(await call.json(), '{"noout": true}'))];
        }
        throw notFound();
      case 'crush':
        if (p[1] !== 'rule' || !at(2)) throw notFound();
        allow('GET');
        return [200, await this.crushRules()];
      case 'mon':
        if (at(1)) {
          allow('GET');
          return [200, await this.mons()];
        }
        if (at(2)) {
          allow('GET');
          const mon = (await this.mons()).filter((m: Json) => m.name === p[1]);
          if (mon.length !== 1) throw new HttpError(500, `Failed to identify the monitor node "${p[1]}"`);
          return [200, mon[0]];
        }
        throw notFound();
      case 'osd':
        return this.osdRoutes(call, allow, notFound);
      case 'perf': {
        if (!at(1)) throw notFound();
        allow('GET');
        let counters: Json = (await this.ctx.getAllPerfCounters()) ?? {};
        const d = call.query.get('daemon');
        if (d !== null) {
          let re: RegExp;
          try {
            // Python's re.match: anchored at the start.
            re = new RegExp(`^(?:${d})`);
          } catch (e) {
            throw new HttpError(400, `daemon is not a valid regular expression: ${(e as Error).message}`);
          }
          counters = Object.fromEntries(Object.entries(counters).filter(([k]) => re.test(k)));
        }
        return [200, paginate(call.query, counters)];
      }
      case 'pool':
        return this.poolRoutes(call, allow, notFound);
      case 'request':
        return this.requestRoutes(call, allow, notFound);
      case 'server':
        if (at(1)) {
          allow('GET');
          return [200, await this.ctx.listServers()];
        }
        if (at(2)) {
          allow('GET');
          return [200, (await this.ctx.getServer(p[1])) ?? null];
        }
        throw notFound();
    }
    throw notFound();
  }

  // ---- /config/osd --------------------------------------------------------

  private async osdFlags(): Promise<string[]> {
    const flags = String((await this.ctx.get('osd_map'))?.flags ?? '');
    // pause is a valid osd config command that sets pauserd,pausewr
    return flags.replace('pauserd,pausewr', 'pause').split(',');
  }

  private patchOsdFlags(args: Record<string, unknown>): CommandsRequest {
    const valid = Object.keys(args).filter((f) => OSD_FLAGS.includes(f));
    const invalid = Object.keys(args).filter((f) => !OSD_FLAGS.includes(f));
    if (invalid.length) this.ctx.warn(`restful: ${JSON.stringify(invalid)} not valid to set/unset`);
    return this.ctx.submit([valid.map((flag) => ({ prefix: `osd ${args[flag] ? 'set' : 'unset'}`, key: flag }))]);
  }

  // ---- /crush/rule --------------------------------------------------------

  private async crushRules(): Promise<Json[]> {
    const crush = await this.ctx.get('osd_map_crush');
    return (crush.rules ?? []).map((rule: Json) => ({ ...rule, osd_count: crushRuleOsds(crush.buckets ?? [], rule).size }));
  }

  // ---- /mon ---------------------------------------------------------------

  private async mons(): Promise<Json[]> {
    const [monMap, statusRaw, md] = await Promise.all([this.ctx.get('mon_map'), this.ctx.get('mon_status'), this.ctx.get('mon_metadata')]);
    let quorum: number[] = [];
    try {
      quorum = JSON.parse(statusRaw?.json ?? '{}').quorum ?? [];
    } catch {
      quorum = [];
    }
    return (monMap?.mons ?? []).map((m: Json) => ({
      ...m,
      in_quorum: quorum.includes(m.rank),
      server: md?.[m.name]?.hostname ?? null,
      leader: m.rank === quorum[0],
    }));
  }

  // ---- /osd ---------------------------------------------------------------

  /** OSD id -> the pools whose CRUSH rule reaches it (Ceph's get_osd_pools). */
  private async osdPools(osdMap: Json): Promise<Map<number, number[]>> {
    const crush = await this.ctx.get('osd_map_crush');
    const out = new Map<number, number[]>((osdMap.osds ?? []).map((o: Json) => [o.osd, []]));
    for (const pool of osdMap.pools ?? []) {
      let osds = new Set<number>();
      for (const rule of (crush.rules ?? []).filter((r: Json) => r.rule_id === pool.crush_rule)) {
        if ((rule.min_size ?? 1) <= pool.size && pool.size <= (rule.max_size ?? 10)) osds = crushRuleOsds(crush.buckets ?? [], rule);
      }
      for (const id of osds) out.get(id)?.push(pool.pool);
    }
    return out;
  }

  /** Ceph's get_osds: the osd map's OSDs with pools, server, reweight and valid_commands. */
  private async osds(poolId: string | null, ids: number[] | null): Promise<Json[]> {
    const [osdMap, md, tree] = await Promise.all([this.ctx.get('osd_map'), this.ctx.get('osd_metadata'), this.ctx.get('osd_map_tree')]);
    let osds: Json[] = osdMap.osds ?? [];
    if (ids) osds = osds.filter((o) => ids.includes(o.osd));
    const pools = await this.osdPools(osdMap);
    const reweight = new Map<number, number>((tree.nodes ?? []).map((n: Json) => [n.id, n.reweight]));
    let out = osds.map((o) => ({
      ...o,
      pools: pools.get(o.osd) ?? [],
      server: md?.[String(o.osd)]?.hostname ?? null,
      reweight: reweight.get(o.osd) ?? 0.0,
      valid_commands: o.up ? OSD_IMPLEMENTED_COMMANDS : [],
    }));
    if (poolId) {
      const id = intSegment(poolId, 'pool');
      out = out.filter((o) => o.pools.includes(id));
    }
    return out;
  }

  private async osdRoutes(call: ApiCall, allow: (...m: string[]) => void, notFound: () => HttpError): Promise<[number, unknown]> {
    const { method, parts: p } = call;
    if (p.length === 1) {
      allow('GET');
      return [200, await this.osds(call.query.get('pool'), null)];
    }
    const id = intSegment(p[1], 'OSD id');
    const byId = async () => ((await this.ctx.get('osd_map')).osds ?? []).find((o: Json) => o.osd === id);
    if (p.length === 2) {
      allow('GET', 'PATCH');
      if (method === 'GET') {
        const osd = await this.osds(null, [id]);
        if (osd.length !== 1) throw new HttpError(500, `Failed to identify the OSD id "${id}"`);
        return [200, osd[0]];
      }
      const args = object(await call.json(), '{"in": false}');
      const commands: Command[] = [];
      if ('in' in args) commands.push({ prefix: args.in ? 'osd in' : 'osd out', ids: [String(id)] });
      if ('up' in args) {
        if (args.up) throw new HttpError(500, 'It is not valid to set a down OSD to be up');
        commands.push({ prefix: 'osd down', ids: [String(id)] });
      }
      if ('reweight' in args) commands.push({ prefix: 'osd reweight', id, weight: args.reweight });
      return [200, this.ctx.submit([commands])];
    }
    if (p.length === 3 && p[2] === 'command') {
      allow('GET', 'POST');
      const osd = await byId();
      if (!osd) throw new HttpError(500, `Failed to identify the OSD id "${id}"`);
      if (method === 'GET') return [200, osd.up ? OSD_IMPLEMENTED_COMMANDS : []];
      const command = object(await call.json(), '{"command": "scrub"}').command;
      if (!osd.up || typeof command !== 'string' || !OSD_IMPLEMENTED_COMMANDS.includes(command))
        throw new HttpError(500, `Command "${command === undefined ? 'None' : String(command)}" not available`);
      return [200, this.ctx.submit([[{ prefix: `osd ${command}`, who: String(id) }]])];
    }
    throw notFound();
  }

  // ---- /pool --------------------------------------------------------------

  private async poolRoutes(call: ApiCall, allow: (...m: string[]) => void, notFound: () => HttpError): Promise<[number, unknown]> {
    const { method, parts: p } = call;
    const pools = async (): Promise<Json[]> => (await this.ctx.get('osd_map')).pools ?? [];
    if (p.length === 1) {
      allow('GET', 'POST');
      if (method === 'GET') return [200, (await pools()).map(withPgpNum)];
      const args = { ...object(await call.json(), '{"name": "rbd", "pg_num": 8}') };
      const name = args.name;
      delete args.name;
      if (name === undefined || name === null) throw new HttpError(500, 'You need to specify the pool "name" argument');
      const pgNum = args.pg_num;
      delete args.pg_num;
      if (pgNum === undefined || pgNum === null) throw new HttpError(500, 'You need to specify the "pg_num" argument');
      const invalid = invalidPoolArgs(args);
      if (invalid.length) throw new HttpError(500, `Invalid arguments found: "${JSON.stringify(invalid)}"`);
      const create: Command = { prefix: 'osd pool create', pool: name, pg_num: pgNum };
      return [200, this.ctx.submit([[create], ...poolUpdateCommands(String(name), args)])];
    }
    if (p.length !== 2) throw notFound();
    allow('GET', 'PATCH', 'DELETE');
    const id = intSegment(p[1], 'pool id');
    const pool = (await pools()).find((x) => x.pool === id);
    if (method === 'PATCH') {
      let args: Record<string, unknown>;
      try {
        args = object(await call.json(), '{"size": 2}');
      } catch {
        throw new HttpError(400, 'Bad request: malformed JSON or wrong Content-Type');
      }
      if (!pool) throw new HttpError(500, `Failed to identify the pool id "${id}"`);
      const invalid = invalidPoolArgs(args);
      if (invalid.length) throw new HttpError(500, `Invalid arguments found: "${JSON.stringify(invalid)}"`);
      return [200, this.ctx.submit(poolUpdateCommands(pool.pool_name, args))];
    }
    if (!pool) throw new HttpError(500, `Failed to identify the pool id "${id}"`);
    if (method === 'GET') return [200, withPgpNum(pool)];
    return [200, this.ctx.submit([[{ prefix: 'osd pool delete', pool: pool.pool_name, pool2: pool.pool_name, yes_i_really_really_mean_it: true }]])];
  }

  // ---- /request -----------------------------------------------------------

  private async requestRoutes(call: ApiCall, allow: (...m: string[]) => void, notFound: () => HttpError): Promise<[number, unknown]> {
    const { method, parts: p } = call;
    if (p.length === 1) {
      allow('GET', 'POST', 'DELETE');
      if (method === 'GET') return [200, paginate(call.query, this.ctx.requests())];
      if (method === 'DELETE') {
        const all = this.ctx.requests();
        for (const r of all) if (r.isFinished()) this.ctx.forget(r.id);
        const remaining = this.ctx.requests().length;
        return [200, { cleaned: all.length - remaining, remaining }];
      }
      const body = await call.json();
      if (Array.isArray(body)) {
        if (!body.every((w) => Array.isArray(w))) throw new HttpError(500, 'The request format should be [[{c1},{c2}]]');
        const waves = body as unknown[][];
        if (!waves.flat().every((c) => c && typeof c === 'object' && !Array.isArray(c) && typeof (c as Json).prefix === 'string'))
          throw new HttpError(400, 'every command must be a JSON object with a "prefix", e.g. [[{"prefix": "osd stat"}]]');
        return [200, this.ctx.submit(waves as Command[][])];
      }
      const one = object(body, '{"prefix": "osd stat"}');
      if (typeof one.prefix !== 'string') throw new HttpError(400, 'a command needs a "prefix" string, e.g. {"prefix": "osd stat"}');
      return [200, this.ctx.submit([[one]])];
    }
    if (p.length !== 2) throw notFound();
    allow('GET', 'DELETE');
    if (method === 'GET') {
      const r = this.ctx.requests().filter((x) => x.id === p[1]);
      if (r.length !== 1) throw new HttpError(500, `Unknown request id "${p[1]}"`);
      return [200, r[0]];
    }
    const gone = this.ctx.forget(p[1]);
    if (!gone) throw new HttpError(500, 'No such request id');
    return [200, gone];
  }
}
