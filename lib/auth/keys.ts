// The keys a server checks proofs against: the shared keyring file, read
// again (at most once a second) when a caller's key is unknown or does not
// match, so an entity added by another process, or a rotated key, is seen
// without a restart.
import * as fs from 'fs';
import { KeyringEntry, KeyringError, parseKeyring } from '../keyring';
import type { CallCredentials } from './proof';

export interface KeyringKeysOptions {
  /** Least time between two reads forced by a miss (ms). */
  minRereadMs?: number;
  /** Told when a re-read fails (the last good keys stay in use). */
  onError?: (message: string) => void;
  /** Read the file on the first lookup rather than now (it may not exist yet). */
  lazy?: boolean;
}

export class KeyringKeys {
  private entries = new Map<string, KeyringEntry>();
  private readAt = 0;

  constructor(
    readonly file: string,
    private readonly opts: KeyringKeysOptions = {},
  ) {
    if (!opts.lazy) this.read();
  }

  /** The entry of `entity`; `fresh` re-reads the file first unless it was read within minRereadMs. */
  get(entity: string, fresh = false): KeyringEntry | undefined {
    if (this.readAt === 0 || (fresh && Date.now() - this.readAt >= (this.opts.minRereadMs ?? 1000))) this.read();
    return this.entries.get(entity);
  }

  /** The key of `entity` (for ProofVerifier's keyOf). */
  keyOf = (entity: string, fresh: boolean): string | undefined => this.get(entity, fresh)?.key;

  private read(): void {
    this.readAt = Date.now();
    try {
      this.entries = parseKeyring(fs.readFileSync(this.file, 'utf8'), this.file);
    } catch (e) {
      this.opts.onError?.(`cannot read the keyring ${this.file}: ${(e as Error).message}`);
    }
  }
}

/**
 * A caller's credentials from a keyring file: its key is looked up on each
 * call (the file read again at most once a second), so a rotated key is used
 * without a restart. A missing entity or file is a KeyringError when a call
 * is made, naming both.
 */
export function keyringCredentials(file: string, entity: string): CallCredentials {
  const keys = new KeyringKeys(file, { lazy: true });
  return {
    entity,
    key: () => {
      const k = keys.get(entity, true)?.key;
      if (k === undefined) throw new KeyringError(`${file} has no entry [${entity}]`);
      return k;
    },
  };
}
