// Offline: the crypto layer's contract and every structure's encode/decode
// round trip (the byte-exact checks against Ceph are the replays on the
// captures, replay.test.ts).
import * as crypto from 'crypto';
import { AuthError } from '../../auth';
import { Decoder, Encoder } from '../../encoding';
import { EntityType } from '../../types';
import { cephSecret, newKey } from '../../../keyring';
import { readAuthorizeReply, writeAuthorizeReply, plusOne, sealChallenge, openChallenge } from '../authorizer';
import { aesDecrypt, aesEncrypt, decodeCryptoKey, decodeEncrypted, encodeCryptoKey, encodeEncrypted, newCryptoKey, MAX_ENCRYPTED_BYTES } from '../crypto';
import { decodeRotatingSecrets, encodeRotatingSecrets, RotatingKeys } from '../rotating';
import { capString, capsInfo, decodeAuthTicket, encodeAuthTicket, sealTicket, unsealTicket } from '../ticket';
import { decodeTicketReply, encodeTicketReply } from '../ticket-reply';
import { freshRotatingSecrets } from './issuer';

describe('crypto', () => {
  const key = crypto.randomBytes(16);

  it("a keyring key is an encoded CryptoKey: the same secret as the keyring parser's", () => {
    const k = newKey();
    const decoded = decodeCryptoKey(new Decoder(Buffer.from(k, 'base64')));
    expect(decoded.type).toBe(1);
    expect(decoded.secret.equals(cephSecret(k))).toBe(true);
    const e = new Encoder();
    encodeCryptoKey(e, decoded);
    expect(e.toBuffer().toString('base64')).toBe(k);
  });

  it('AES-CBC pads to whole blocks (a full block when already whole) and decrypts back', () => {
    for (const n of [0, 1, 15, 16, 17, 100]) {
      const plain = crypto.randomBytes(n);
      const c = aesEncrypt(key, plain);
      expect(c.length).toBe(Math.floor(n / 16) * 16 + 16);
      expect(aesDecrypt(key, c).equals(plain)).toBe(true);
    }
  });

  it('a wrong key, a torn block, an oversized blob or a short key is an AuthError', () => {
    const c = encodeEncrypted(key, (e) => e.u64(42n));
    expect(() => decodeEncrypted(crypto.randomBytes(16), c, 'the test blob', (d) => d.u64())).toThrow(AuthError);
    expect(() => aesDecrypt(key, c.subarray(0, c.length - 1))).toThrow(/not a whole number of AES blocks/);
    expect(() => aesDecrypt(key, Buffer.alloc(MAX_ENCRYPTED_BYTES + 16))).toThrow(/more than the/);
    expect(() => aesEncrypt(Buffer.alloc(8), Buffer.alloc(1))).toThrow(/16 secret bytes, not 8/);
    expect(decodeEncrypted(key, c, 'the test blob', (d) => d.u64())).toBe(42n);
  });

  it('a blob whose magic is wrong (another envelope, same key) is an AuthError', () => {
    const c = aesEncrypt(key, new Encoder().u8(1).u64(0x1234n).u64(42n).toBuffer());
    expect(() => decodeEncrypted(key, c, 'the test blob', (d) => d.u64())).toThrow(/bad magic/);
  });

  it('challenge + 1 wraps as u64 arithmetic does', () => {
    expect(plusOne((1n << 64n) - 1n)).toBe(0n);
    expect(openChallenge(key, sealChallenge(key, 77n))).toBe(77n);
  });
});

describe('structures round trip', () => {
  it('AuthTicket with caps, sealed and unsealed', () => {
    const t = {
      name: { type: EntityType.OSD, id: '3' },
      globalId: 4242n,
      created: { sec: 10, nsec: 5 },
      expires: { sec: 3610, nsec: 5 },
      caps: capsInfo('allow profile osd'),
      flags: 0,
    };
    const e = new Encoder();
    encodeAuthTicket(e, t);
    expect(decodeAuthTicket(new Decoder(e.toBuffer()))).toEqual(t);
    expect(capString(t.caps)).toBe('allow profile osd');
    expect(capString(capsInfo(''))).toBe('');
    const secret = crypto.randomBytes(16);
    const sessionKey = newCryptoKey();
    const blob = sealTicket({ ticket: t, sessionKey }, secret, 7n);
    expect(blob.secretId).toBe(7n);
    expect(unsealTicket(blob, secret)).toEqual({ ticket: t, sessionKey });
  });

  it('a ticket reply, plain and with a ticket sealed with the old session key', () => {
    const principal = crypto.randomBytes(16);
    const old = crypto.randomBytes(16);
    const grants = [
      {
        serviceId: EntityType.AUTH,
        sessionKey: newCryptoKey(),
        validity: { sec: 259200, nsec: 0 },
        ticket: { secretId: 2n, blob: Buffer.from('auth') },
        ticketKey: old,
      },
      { serviceId: EntityType.MGR, sessionKey: newCryptoKey(), validity: { sec: 3600, nsec: 0 }, ticket: { secretId: 3n, blob: Buffer.from('mgr') } },
    ];
    const e = new Encoder();
    encodeTicketReply(e, principal, grants);
    const got = decodeTicketReply(new Decoder(e.toBuffer()), principal, (id) => (id === EntityType.AUTH ? old : undefined));
    expect(got).toEqual(grants.map(({ ticketKey: _k, ...g }) => g));
    expect(() => decodeTicketReply(new Decoder(e.toBuffer()), principal)).toThrow(/session key this client does not hold/);
  });

  it('rotating secrets, and the holder keeps the newest three', () => {
    const r = freshRotatingSecrets();
    r.secrets.set(4n, { key: newCryptoKey(), expiration: { sec: 1, nsec: 0 } });
    r.maxVer = 4n;
    const e = new Encoder();
    encodeRotatingSecrets(e, r);
    const back = decodeRotatingSecrets(new Decoder(e.toBuffer()));
    expect(back).toEqual(r);
    const holder = new RotatingKeys(EntityType.MGR);
    holder.set(back);
    expect(holder.ids()).toEqual([2n, 3n, 4n]);
    expect(holder.describe()).toBe('mgr rotating keys 2,3,4');
  });

  it('an authorizer reply with and without a connection secret', () => {
    const key = crypto.randomBytes(16);
    for (const connectionSecret of [Buffer.alloc(0), crypto.randomBytes(64)]) {
      const e = new Encoder();
      writeAuthorizeReply(e, key, { noncePlusOne: 99n, connectionSecret });
      expect(readAuthorizeReply(new Decoder(e.toBuffer()), key)).toEqual({ noncePlusOne: 99n, connectionSecret });
    }
  });
});
