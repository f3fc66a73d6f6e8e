import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { cephSecret, entryFromKeyring, formatKeyring, KeyringError, keyFromKeyring, newKey, parseKeyring } from '../keyring';

const CAPTURES = path.join(__dirname, '../../../shared/ceph-wire/vectors');

describe('keyring', () => {
  it('parses entities, keys and every service cap', () => {
    const k = parseKeyring('[mgr.x]\n\tkey = AAAA==\n[client.admin]\n\tkey = QUJDREVG==\n\tcaps mgr = "allow *"\n\tcaps  mon = "allow *"\n');
    expect(k.get('mgr.x')).toEqual({ entity: 'mgr.x', key: 'AAAA==', caps: {} });
    expect(k.get('client.admin')?.caps).toEqual({ mgr: 'allow *', mon: 'allow *' });
    expect(k.get('client.nobody')).toBeUndefined();
  });

  it('names the file and line it cannot read', () => {
    expect(() => parseKeyring('key = x\n', 'f')).toThrow(/^f:1: a setting before any '\[entity\]' section$/);
    // a malformed line is named by its number, never echoed (it may hold a key)
    expect(() => parseKeyring('[client.x]\nAQBsecretsecret\n', 'f')).toThrow(/^f:2: not a/);
    expect(() => parseKeyring('[client.x]\nAQBsecretsecret\n', 'f')).not.toThrow(/secret/);
    expect(() => parseKeyring('[client.a]\n', 'f')).toThrow(/\[client.a\] has no key/);
    expect(() => keyFromKeyring('/nonexistent/keyring', 'client.admin')).toThrow(KeyringError);
  });

  it('reads a real Ceph keyring and the secret inside its keys', () => {
    const file = path.join(CAPTURES, 'keyring');
    const admin = entryFromKeyring(file, 'client.admin');
    expect(admin.caps.mon).toBe('allow *');
    expect(cephSecret(admin.key)).toHaveLength(16);
    expect(() => entryFromKeyring(file, 'client.nobody')).toThrow(/has no entry \[client.nobody\]/);
  });

  it('makes keys in Ceph format and writes files it reads back', () => {
    const key = newKey();
    expect(key.startsWith('AQ')).toBe(true);
    expect(cephSecret(key)).toHaveLength(16);
    expect(() => cephSecret(Buffer.alloc(24).toString('base64'))).toThrow(/crypto type 0/);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'keyring-'));
    const file = path.join(dir, 'keyring');
    fs.writeFileSync(file, formatKeyring([{ entity: 'client.a', key, caps: { mgr: 'allow r', mon: 'allow r' } }]));
    expect(parseKeyring(fs.readFileSync(file, 'utf8')).get('client.a')).toEqual({ entity: 'client.a', key, caps: { mgr: 'allow r', mon: 'allow r' } });
    fs.rmSync(dir, { recursive: true });
  });
});
