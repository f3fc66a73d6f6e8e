// Just enough PromQL to read Ceph's alert rules and Grafana dashboards: a
// parser for the expressions they use (selectors, ranges, functions,
// aggregations with by/without, binary operators with bool, on/ignoring and
// group_left/group_right), and a check of every metric name and label an
// expression needs against the families a scrape has. Grafana's template
// variables are replaced first ($__rate_interval by 1m, $topk by 10; the ones
// inside strings stay as they are).

export type Node =
  | { kind: 'number'; value: number }
  | { kind: 'string'; value: string }
  | { kind: 'selector'; name: string; matchers: Array<{ label: string; op: string; value: string }> }
  | { kind: 'range'; expr: Node }
  | { kind: 'call'; fn: string; args: Node[] }
  | { kind: 'aggregate'; op: string; params: Node[]; expr: Node; grouping: { without: boolean; labels: string[] } | null }
  | { kind: 'unary'; op: string; expr: Node }
  | {
      kind: 'binary';
      op: string;
      /** A comparison with `bool` (0/1 instead of a filter). */
      bool: boolean;
      lhs: Node;
      rhs: Node;
      matching: { on: boolean; labels: string[] } | null;
      group: { side: 'left' | 'right'; labels: string[] } | null;
    };

const AGGREGATIONS = new Set(['sum', 'min', 'max', 'avg', 'count', 'stddev', 'stdvar', 'topk', 'bottomk', 'quantile', 'count_values', 'group']);
// Binary operators by precedence, lowest first (PromQL's: or; and unless; comparisons; + -; * / % atan2; ^).
const LEVELS = [['or'], ['and', 'unless'], ['==', '!=', '>=', '<=', '>', '<'], ['+', '-'], ['*', '/', '%', 'atan2'], ['^']];
const COMPARISONS = new Set(['==', '!=', '>=', '<=', '>', '<']);

type Tok = { t: 'num' | 'str' | 'id' | 'op' | 'dur'; v: string };

function tokenize(src: string): Tok[] {
  const out: Tok[] = [];
  let i = 0;
  while (i < src.length) {
    const c = src[i];
    if (/\s/.test(c)) {
      i++;
      continue;
    }
    if (c === '"' || c === "'" || c === '`') {
      let j = i + 1;
      let v = '';
      while (j < src.length && src[j] !== c) {
        if (src[j] === '\\' && c !== '`') {
          v += src[j + 1];
          j += 2;
        } else v += src[j++];
      }
      if (j >= src.length) throw new Error(`unterminated string at ${i}: ${src}`);
      out.push({ t: 'str', v });
      i = j + 1;
      continue;
    }
    if (c === '[') {
      // a range or subquery: its duration does not matter here
      const j = src.indexOf(']', i);
      if (j < 0) throw new Error(`unterminated [ at ${i}: ${src}`);
      out.push({ t: 'dur', v: src.slice(i + 1, j) });
      i = j + 1;
      continue;
    }
    const num = /^(?:0x[0-9a-fA-F]+|\d*\.?\d+(?:[eE][+-]?\d+)?|Inf|NaN)/.exec(src.slice(i));
    if (num && /[\d.]/.test(c)) {
      out.push({ t: 'num', v: num[0] });
      i += num[0].length;
      continue;
    }
    const id = /^[a-zA-Z_:][a-zA-Z0-9_:]*/.exec(src.slice(i));
    if (id) {
      out.push({ t: 'id', v: id[0] });
      i += id[0].length;
      continue;
    }
    const op = /^(==|!=|>=|<=|=~|!~|[-+*/%^<>=(){},])/.exec(src.slice(i));
    if (op) {
      out.push({ t: 'op', v: op[0] });
      i += op[0].length;
      continue;
    }
    throw new Error(`unexpected '${c}' at ${i}: ${src}`);
  }
  return out;
}

/** Grafana's variables that stand for durations or numbers, replaced so the expression parses. */
export function substituteVariables(expr: string): string {
  return expr.replace(/\$__\w+/g, '1m').replace(/\$\{?topk\}?/g, '10');
}

export function parse(src: string): Node {
  const toks = tokenize(substituteVariables(src));
  let p = 0;
  const peek = () => toks[p];
  const isOp = (v: string) => peek()?.t === 'op' && peek().v === v;
  const isId = (v: string) => peek()?.t === 'id' && peek().v.toLowerCase() === v;
  const expect = (v: string) => {
    if (!isOp(v)) throw new Error(`expected '${v}' at token ${p} (${JSON.stringify(peek())}) in: ${src}`);
    p++;
  };
  const labelList = (): string[] => {
    expect('(');
    const out: string[] = [];
    while (!isOp(')')) {
      const t = toks[p++];
      if (t.t !== 'id') throw new Error(`expected a label name in: ${src}`);
      out.push(t.v);
      if (isOp(',')) p++;
    }
    expect(')');
    return out;
  };
  const binaryOpAt = (level: string[]): string | null => {
    const t = peek();
    if (!t) return null;
    if (t.t === 'op' && level.includes(t.v)) return t.v;
    if (t.t === 'id' && level.includes(t.v.toLowerCase())) return t.v.toLowerCase();
    return null;
  };
  const expr = (level = 0): Node => {
    if (level >= LEVELS.length) return unary();
    let lhs = expr(level + 1);
    for (;;) {
      const op = binaryOpAt(LEVELS[level]);
      if (!op) return lhs;
      p++;
      const bool = isId('bool');
      if (bool) p++;
      let matching: { on: boolean; labels: string[] } | null = null;
      let group: { side: 'left' | 'right'; labels: string[] } | null = null;
      if (isId('on') || isId('ignoring')) {
        const on = toks[p++].v.toLowerCase() === 'on';
        matching = { on, labels: labelList() };
      }
      if (isId('group_left') || isId('group_right')) {
        const side = toks[p++].v.toLowerCase() === 'group_left' ? 'left' : 'right';
        group = { side, labels: isOp('(') ? labelList() : [] };
      }
      // ^ is right-associative; the rest left.
      const rhs = op === '^' ? expr(level) : expr(level + 1);
      lhs = { kind: 'binary', op, bool, lhs, rhs, matching, group };
    }
  };
  const unary = (): Node => {
    if (isOp('-') || isOp('+')) {
      const op = toks[p++].v;
      return { kind: 'unary', op, expr: unary() };
    }
    return postfix(primary());
  };
  const postfix = (n: Node): Node => {
    let out = n;
    while (peek()?.t === 'dur') {
      p++;
      out = { kind: 'range', expr: out };
    }
    if (isId('offset')) {
      p++;
      p++; // the duration
    }
    return out;
  };
  const args = (): Node[] => {
    expect('(');
    const out: Node[] = [];
    while (!isOp(')')) {
      out.push(expr());
      if (isOp(',')) p++;
    }
    expect(')');
    return out;
  };
  const grouping = () => {
    if (isId('by') || isId('without')) {
      const without = toks[p++].v.toLowerCase() === 'without';
      return { without, labels: labelList() };
    }
    return null;
  };
  const matchers = () => {
    expect('{');
    const out: Array<{ label: string; op: string; value: string }> = [];
    while (!isOp('}')) {
      const label = toks[p++];
      const op = toks[p++];
      const value = toks[p++];
      if (label?.t !== 'id' || op?.t !== 'op' || value?.t !== 'str') throw new Error(`bad label matcher in: ${src}`);
      out.push({ label: label.v, op: op.v, value: value.v });
      if (isOp(',')) p++;
    }
    expect('}');
    return out;
  };
  const primary = (): Node => {
    const t = peek();
    if (!t) throw new Error(`unexpected end of: ${src}`);
    if (t.t === 'num') {
      p++;
      return { kind: 'number', value: Number(t.v) };
    }
    if (t.t === 'str') {
      p++;
      return { kind: 'string', value: t.v };
    }
    if (isOp('(')) {
      p++;
      const e = expr();
      expect(')');
      return e;
    }
    if (isOp('{')) return { kind: 'selector', name: '', matchers: matchers() };
    if (t.t === 'id') {
      p++;
      const name = t.v;
      if (AGGREGATIONS.has(name.toLowerCase()) && (isOp('(') || isId('by') || isId('without'))) {
        let g = grouping();
        const a = args();
        g = g ?? grouping();
        return { kind: 'aggregate', op: name.toLowerCase(), params: a.slice(0, -1), expr: a[a.length - 1], grouping: g };
      }
      if (isOp('(')) return { kind: 'call', fn: name, args: args() };
      return { kind: 'selector', name, matchers: isOp('{') ? matchers() : [] };
    }
    throw new Error(`unexpected ${JSON.stringify(t)} in: ${src}`);
  };
  const root = expr();
  if (p !== toks.length) throw new Error(`trailing tokens from ${p} (${JSON.stringify(toks[p])}) in: ${src}`);
  return root;
}

/** Every metric name a selector of the expression reads. */
export function metricNames(n: Node, out = new Set<string>()): Set<string> {
  switch (n.kind) {
    case 'selector':
      if (n.name) out.add(n.name);
      break;
    case 'range':
    case 'unary':
      metricNames(n.expr, out);
      break;
    case 'call':
      n.args.forEach((a) => metricNames(a, out));
      break;
    case 'aggregate':
      n.params.forEach((a) => metricNames(a, out));
      metricNames(n.expr, out);
      break;
    case 'binary':
      metricNames(n.lhs, out);
      metricNames(n.rhs, out);
      break;
  }
  return out;
}

/** What a scrape offers: each family's label names. */
export type Families = Map<string, Set<string>>;

export interface Problem {
  /** The ceph_* metric the problem is about. */
  metric: string;
  /** The label it lacks, or '' when the metric itself is missing. */
  label: string;
  /** Where in the expression the label is needed (a matcher, on(...), by(...), ...). */
  use: string;
}

// An expression's labels: a set when known, 'scalar', or null when it reads
// metrics mgrpc does not serve (node_exporter's, haproxy's): not checked.
type Labels = { set: Set<string>; from: string[] } | 'scalar' | null;

/**
 * Checks every ceph_* name and every label the expression needs on them.
 * `targetLabels` are the ones Prometheus' scrape config adds (job, instance, ...).
 */
export function checkLabels(n: Node, families: Families, targetLabels: ReadonlySet<string>): Problem[] {
  const problems: Problem[] = [];
  const need = (l: Labels, label: string, use: string) => {
    if (!l || l === 'scalar' || targetLabels.has(label) || l.set.has(label)) return;
    for (const m of l.from) problems.push({ metric: m, label, use });
  };
  const walk = (x: Node): Labels => {
    switch (x.kind) {
      case 'number':
        return 'scalar';
      case 'string':
        return 'scalar';
      case 'selector': {
        if (!x.name.startsWith('ceph_')) return null;
        const fam = families.get(x.name);
        if (!fam) {
          problems.push({ metric: x.name, label: '', use: 'selector' });
          return null;
        }
        const l = { set: new Set(fam), from: [x.name] };
        for (const m of x.matchers) need(l, m.label, `matcher ${m.label}${m.op}"${m.value}"`);
        return l;
      }
      case 'range':
      case 'unary':
        return walk(x.expr);
      case 'call': {
        const a = x.args.map(walk);
        switch (x.fn) {
          case 'label_replace': {
            const v = a[0];
            const dst = x.args[1]?.kind === 'string' ? x.args[1].value : '';
            const src = x.args[3]?.kind === 'string' ? x.args[3].value : '';
            if (src) need(v, src, `label_replace(..., "${src}", ...)`);
            return v && v !== 'scalar' ? { set: new Set([...v.set, dst]), from: v.from } : v;
          }
          case 'absent':
          case 'vector':
          case 'time':
            return { set: new Set(), from: [] };
          case 'scalar':
            return 'scalar';
          default:
            return a.find((v) => v !== 'scalar') ?? 'scalar';
        }
      }
      case 'aggregate': {
        x.params.forEach(walk);
        const v = walk(x.expr);
        const g = x.grouping;
        if (g && !g.without) for (const l of g.labels) need(v, l, `${x.op} by (${g.labels.join(', ')})`);
        if (!v || v === 'scalar') return v;
        if (g) return { set: g.without ? new Set([...v.set].filter((l) => !g.labels.includes(l))) : new Set(g.labels), from: v.from };
        if (x.op === 'topk' || x.op === 'bottomk') return v;
        return { set: new Set(), from: v.from };
      }
      case 'binary': {
        const l = walk(x.lhs);
        const r = walk(x.rhs);
        if (l === 'scalar') return r;
        if (r === 'scalar') return l;
        if (x.matching?.on) {
          const use = `on(${x.matching.labels.join(', ')})`;
          for (const lab of x.matching.labels) {
            need(l, lab, use);
            need(r, lab, use);
          }
        }
        if (x.group) {
          const use = `group_${x.group.side}(${x.group.labels.join(', ')})`;
          for (const lab of x.group.labels) need(x.group.side === 'left' ? r : l, lab, use);
        }
        if (!l || !r) return l ?? r;
        if (x.op === 'or') return { set: new Set([...l.set, ...r.set]), from: [...l.from, ...r.from] };
        if (x.group) {
          const base = x.group.side === 'left' ? l : r;
          return { set: new Set([...base.set, ...x.group.labels]), from: [...l.from, ...r.from] };
        }
        if (['and', 'unless'].includes(x.op) || COMPARISONS.has(x.op)) return l;
        if (x.matching?.on) return { set: new Set(x.matching.labels), from: [...l.from, ...r.from] };
        if (x.matching) return { set: new Set([...l.set].filter((lab) => !x.matching!.labels.includes(lab))), from: [...l.from, ...r.from] };
        return l;
      }
    }
  };
  walk(n);
  return problems;
}
