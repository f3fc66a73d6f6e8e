// The keys a server checks proofs against, and a caller signs with: the
// shared keyring file, read again when it has changed (a stat tells) and a
// caller's key is unknown or does not match, so an entity added by another
// process, or a rotated key, is seen without a restart. A rotated key's
// previous value stays good for `previousKeyMs` (a proof's lifetime by
// default): calls signed just before the rotation still land.
import * as fs from 'fs';
import { KeyringEntry, KeyringError, parseKeyring } from '../keyring';
import { CallCredentials, PROOF_LIFETIME_MS } from './proof';

export interface KeyringKeysOptions {
  /** Told when a re-read fails (the last good keys stay in use). */
  onError?: (message: string) => void;
  /** Read the file on the first lookup rather than now (it may not exist yet). */
  lazy?: boolean;
  /** How long a rotated key's previous value is still accepted (ms); default a proof's lifetime. */
  previousKeyMs?: number;
  /** Least time between two looks at the file (ms); default 0: every fresh lookup. */
  minCheckMs?: number;
}

export class KeyringKeys {
  private entries = new Map<string, KeyringEntry>();
  /** Keys replaced by a rotation, until when they are still good. */
  private previous = new Map<string, { key: string; until: number }>();
  private seen = '';
  private read = false;
  private checkedAt = 0;

  constructor(
    readonly file: string,
    private readonly opts: KeyringKeysOptions = {},
  ) {
    if (!opts.lazy) this.reload();
  }

  /** The entry of `entity`; `fresh` first re-reads the file if it changed since it was read. */
  get(entity: string, fresh = false): KeyringEntry | undefined {
    if (!this.read || (fresh && Date.now() - this.checkedAt >= (this.opts.minCheckMs ?? 0))) this.reload();
    return this.entries.get(entity);
  }

  /** The keys `entity` may sign with: its key, and a rotated-out one still in its grace (for ProofVerifier's keysOf). */
  keysOf = (entity: string, fresh: boolean): string[] => {
    const key = this.get(entity, fresh)?.key;
    const prev = this.previous.get(entity);
    const keys = key === undefined ? [] : [key];
    if (prev && prev.until >= Date.now() && prev.key !== key) keys.push(prev.key);
    return keys;
  };

  private reload(): void {
    this.read = true;
    this.checkedAt = Date.now();
    let stamp: string;
    try {
      const st = fs.statSync(this.file);
      stamp = `${st.ino} ${st.size} ${st.mtimeMs}`;
    } catch (e) {
      this.opts.onError?.(`cannot read the keyring ${this.file}: ${(e as Error).message}`);
      return;
    }
    if (stamp === this.seen) return;
    try {
      const next = parseKeyring(fs.readFileSync(this.file, 'utf8'), this.file);
      const until = Date.now() + (this.opts.previousKeyMs ?? PROOF_LIFETIME_MS);
      for (const [entity, old] of this.entries) {
        const now = next.get(entity);
        if (now && now.key !== old.key) this.previous.set(entity, { key: old.key, until });
      }
      for (const [entity, p] of this.previous) if (p.until < Date.now() || !next.has(entity)) this.previous.delete(entity);
      this.entries = next;
      this.seen = stamp;
    } catch (e) {
      this.opts.onError?.(`cannot read the keyring ${this.file}: ${(e as Error).message}`);
    }
  }
}

/**
 * A caller's credentials from a keyring file: its key is looked up on each
 * call (the file read again when it changed), so a rotated key is used
 * without a restart. A missing entity or file is a KeyringError when a call
 * is made, naming both.
 */
export function keyringCredentials(file: string, entity: string): CallCredentials {
  // A look at the file at most once a second: servers accept a rotated key's previous value meanwhile.
  const keys = new KeyringKeys(file, { lazy: true, minCheckMs: 1000 });
  return {
    entity,
    key: () => {
      const k = keys.get(entity, true)?.key;
      if (k === undefined) throw new KeyringError(`${file} has no entry [${entity}]`);
      return k;
    },
  };
}
