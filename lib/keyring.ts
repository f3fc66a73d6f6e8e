// Ceph keyring files, the one parser for the whole project (mgrpc's own
// keyring, and the keyrings of a real Ceph cluster for the wire library).
//
// The format, as `ceph auth get` prints it:
//   [client.admin]
//   	key = AQB...==
//   	caps mgr = "allow *"
//   	caps mon = "allow *"
//
// A key is base64. Ceph's own keys ("AQ..." from `ceph-authtool --gen-key`)
// are an encoded CryptoKey: le16 type (1 = AES), utime created (le32 sec,
// le32 nsec), le16 length, then the secret bytes; `cephSecret` unpacks them.
import * as crypto from 'crypto';
import * as fs from 'fs';

export interface KeyringEntry {
  /** The entity name, e.g. client.admin, mgr.x, osd.0. */
  entity: string;
  /** The key as written in the file (base64). */
  key: string;
  /** The raw cap strings per service ("mon", "mgr", "osd", "mds", ...). */
  caps: Record<string, string>;
}

export class KeyringError extends Error {}

/** Parses a keyring file's text; `source` names it in errors. */
export function parseKeyring(text: string, source = 'keyring'): Map<string, KeyringEntry> {
  const out = new Map<string, KeyringEntry>();
  let cur: KeyringEntry | null = null;
  text.split(/\r?\n/).forEach((line, i) => {
    const s = line.trim();
    if (!s || s.startsWith('#') || s.startsWith(';')) return;
    const section = /^\[([^\]]+)\]$/.exec(s);
    if (section) {
      cur = { entity: section[1].trim(), key: '', caps: {} };
      out.set(cur.entity, cur);
      return;
    }
    const kv = /^([^=]+?)\s*=\s*(.*)$/.exec(s);
    // The line itself is never echoed: it may hold a key.
    if (!kv) throw new KeyringError(`${source}:${i + 1}: not a '[entity]' section nor a 'name = value' line`);
    if (!cur) throw new KeyringError(`${source}:${i + 1}: a setting before any '[entity]' section`);
    const name = kv[1].trim().replace(/\s+/g, ' ');
    const value = kv[2].trim().replace(/^"(.*)"$/, '$1');
    const entry: KeyringEntry = cur;
    if (name === 'key') entry.key = value;
    else if (name.startsWith('caps ')) entry.caps[name.slice(5)] = value;
    // other settings (auid, ...) are not used
  });
  for (const e of out.values()) if (!e.key) throw new KeyringError(`${source}: [${e.entity}] has no key`);
  return out;
}

/** Reads and parses a keyring file; a missing or unreadable file is a KeyringError naming it. */
export function readKeyring(file: string): Map<string, KeyringEntry> {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    throw new KeyringError(`cannot read the keyring ${file}: ${(e as Error).message}`);
  }
  return parseKeyring(text, file);
}

/** One entity's entry from a keyring file, or a KeyringError naming the file and the entity. */
export function entryFromKeyring(file: string, entity: string): KeyringEntry {
  const e = readKeyring(file).get(entity);
  if (!e) throw new KeyringError(`${file} has no entry [${entity}]`);
  return e;
}

/** One entity's key (base64) from a keyring file. */
export function keyFromKeyring(file: string, entity: string): string {
  return entryFromKeyring(file, entity).key;
}

/** Formats entries as a keyring file (caps in the order given). */
export function formatKeyring(entries: Array<{ entity: string; key: string; caps: Record<string, string> }>): string {
  return entries
    .map((e) => {
      const caps = Object.entries(e.caps)
        .map(([svc, c]) => `\tcaps ${svc} = "${c}"\n`)
        .join('');
      return `[${e.entity}]\n\tkey = ${e.key}\n${caps}`;
    })
    .join('');
}

const CRYPTO_AES = 1;

/** A new key in Ceph's format (what `ceph-authtool --gen-print-key` prints): a 16-byte AES secret. */
export function newKey(now = new Date()): string {
  const b = Buffer.alloc(12 + 16);
  b.writeUInt16LE(CRYPTO_AES, 0);
  const ms = now.getTime();
  b.writeUInt32LE(Math.floor(ms / 1000), 2);
  b.writeUInt32LE((ms % 1000) * 1e6, 6);
  b.writeUInt16LE(16, 10);
  crypto.randomBytes(16).copy(b, 12);
  return b.toString('base64');
}

/** The secret bytes inside a Ceph-format key, or a KeyringError saying why the key is not one. */
export function cephSecret(key: string, entity = 'the entity'): Buffer {
  const b = Buffer.from(key, 'base64');
  if (b.length < 12) throw new KeyringError(`the key of ${entity} is not a Ceph key (too short)`);
  const type = b.readUInt16LE(0);
  const len = b.readUInt16LE(10);
  if (type !== CRYPTO_AES) throw new KeyringError(`the key of ${entity} has crypto type ${type}; only AES (1) is supported`);
  if (len !== 16 || b.length !== 12 + len) throw new KeyringError(`the key of ${entity} holds ${b.length - 12} secret bytes; an AES key holds 16`);
  return b.subarray(12);
}

/** Compares two keys in constant time. */
export function keysEqual(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && crypto.timingSafeEqual(x, y);
}
