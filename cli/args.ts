// Maps a command line's words onto a command descriptor, as Ceph's CLI does:
// the longest matching prefix wins, the remaining words fill the arguments
// in order (an n=N argument takes all that is left); a CephBool argument
// may also be a --flag (--yes-i-really-mean-it).
import { CommandSignature, parseSignature } from '../lib/command-descriptor';

export interface MappedCommand {
  prefix: string;
  args: Record<string, unknown>;
}

export class UsageError extends Error {}

export function mapWords(words: string[], descriptors: Array<{ cmd: string }>): MappedCommand {
  const sigs: CommandSignature[] = [];
  for (const d of descriptors) {
    try {
      sigs.push(parseSignature(d.cmd));
    } catch {
      // a module's malformed descriptor: it cannot be matched
    }
  }
  let best: CommandSignature[] = [];
  let bestLen = 0;
  for (const sig of sigs) {
    const n = sig.words.length;
    if (n > words.length || !sig.words.every((w, i) => w === words[i])) continue;
    if (n > bestLen) {
      best = [sig];
      bestLen = n;
    } else if (n === bestLen) best.push(sig);
  }
  if (!best.length) {
    const near = sigs.filter((s) => s.words[0] === words[0]).map((s) => s.prefix);
    const hint = near.length ? `; did you mean one of: ${[...new Set(near)].slice(0, 8).join(', ')}?` : '';
    throw new UsageError(`no valid command found for '${words.join(' ')}'${hint}`);
  }
  const rest = words.slice(bestLen);
  let lastError: UsageError | null = null;
  for (const sig of best) {
    try {
      return { prefix: sig.prefix, args: assign(sig, rest) };
    } catch (e) {
      lastError = e as UsageError;
    }
  }
  throw lastError!;
}

function assign(sig: CommandSignature, words: string[]): Record<string, unknown> {
  const args: Record<string, unknown> = {};
  // A CephBool argument may be given as a flag, as Ceph's CLI takes it:
  // --yes-i-really-mean-it sets yes_i_really_mean_it.
  const rest = words.filter((w) => {
    const flag = w.startsWith('--') ? sig.args.find((a) => a.type === 'CephBool' && `--${a.name.replace(/_/g, '-')}` === w) : undefined;
    if (flag) args[flag.name] = true;
    return !flag;
  });
  let i = 0;
  for (const spec of sig.args) {
    if (i >= rest.length) break;
    if (spec.name in args) continue;
    if (spec.list) {
      args[spec.name] = rest.slice(i);
      i = rest.length;
    } else {
      args[spec.name] = rest[i++];
    }
  }
  if (i < rest.length) throw new UsageError(`too many arguments for '${sig.prefix}': ${JSON.stringify(rest.slice(i))}`);
  return args;
}
