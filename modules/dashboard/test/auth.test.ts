// The dashboard's pure parts: password hashes, session tokens, cookies and
// the health view (no servers needed).
import * as crypto from 'crypto';
import { checkSession, checkUsername, hashPassword, parseCookies, signSession, verifyPassword } from '../auth';
import { healthView, ioSample } from '../data';

describe('dashboard auth', () => {
  it('hashes with scrypt and a fresh salt; only the right password verifies', async () => {
    const a = await hashPassword('a long password');
    const b = await hashPassword('a long password');
    expect(a).toMatch(/^scrypt\$32768\$8\$1\$[A-Za-z0-9+/=]+\$[A-Za-z0-9+/=]+$/);
    expect(a).not.toBe(b);
    expect(await verifyPassword('a long password', a)).toBe(true);
    expect(await verifyPassword('a long passwore', a)).toBe(false);
    expect(await verifyPassword('a long password', 'plain text')).toBe(false);
    expect(await verifyPassword('a long password', a.replace(/^scrypt/, 'md5'))).toBe(false);
  });

  it('signs sessions that expire and cannot be moved to another secret or user', () => {
    const secret = crypto.randomBytes(32);
    const now = 1_800_000_000;
    const t = signSession(secret, 'admin', 60, now);
    expect(checkSession(secret, t, now + 10)).toMatchObject({ u: 'admin', iat: now, exp: now + 60 });
    expect(checkSession(secret, t, now + 60)).toBeNull();
    expect(checkSession(crypto.randomBytes(32), t, now)).toBeNull();
    const [, mac] = t.split('.');
    const other = Buffer.from(JSON.stringify({ u: 'root', iat: now, exp: now + 60 })).toString('base64url');
    expect(checkSession(secret, `${other}.${mac}`, now)).toBeNull();
    expect(checkSession(secret, 'garbage', now)).toBeNull();
    expect(checkSession(secret, '', now)).toBeNull();
  });

  it('checks usernames and parses cookies', () => {
    expect(checkUsername('admin')).toBeNull();
    expect(checkUsername('a.b-c_d@e')).toBeNull();
    expect(checkUsername('')).toMatch(/required/);
    expect(checkUsername('a b')).toMatch(/may only contain/);
    expect(checkUsername('x'.repeat(129))).toMatch(/longer than 128/);
    expect(parseCookies('a=1; token=x.y%3D; b')).toEqual({ a: '1', token: 'x.y=' });
    expect(parseCookies(undefined)).toEqual({});
  });
});

describe('dashboard views', () => {
  it("reads Ceph's health digest (a JSON string inside {json})", () => {
    const raw = {
      json: JSON.stringify({
        status: 'HEALTH_WARN',
        checks: { OSD_DOWN: { severity: 'HEALTH_WARN', summary: { message: '1 osds down', count: 1 }, detail: [{ message: 'osd.5 is down' }] } },
      }),
    };
    expect(healthView(raw)).toEqual({
      status: 'HEALTH_WARN',
      checks: [{ code: 'OSD_DOWN', severity: 'HEALTH_WARN', summary: '1 osds down', count: 1, detail: ['osd.5 is down'] }],
    });
    expect(healthView(null).status).toBe('HEALTH_UNKNOWN');
    expect(healthView({ json: '{not json' }).status).toBe('HEALTH_UNKNOWN');
  });

  it('takes missing rates as zero, as pg_status omits them', () => {
    expect(ioSample({ write_op_per_sec: 433, write_bytes_sec: 1774785 }, 5)).toEqual({ t: 5, readOps: 0, writeOps: 433, readBytes: 0, writeBytes: 1774785 });
    expect(ioSample(null, 1)).toEqual({ t: 1, readOps: 0, writeOps: 0, readBytes: 0, writeBytes: 0 });
  });
});
