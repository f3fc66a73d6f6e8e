import * as os from 'os';
import * as path from 'path';
import { CephConfError, monitorsForClient, monitorsFromConf, normalizeKey, parseCephConf, parseMonHost, readCephConf } from '../conf';

const CAPTURED_CONF = path.join(__dirname, '../../../../shared/ceph-wire/vectors/ceph.conf');

describe('ceph.conf', () => {
  it('reads sections and keys, spaces, dashes and underscores alike, with comments', () => {
    const conf = parseCephConf(
      [
        '# a comment',
        '; another',
        '[global]',
        '  fsid = 878ce9f2-7ae8-4c08-b31d-209ddd0eafc9',
        '  mon host = 10.0.0.1 ; the old monitor',
        '  auth-client-required = cephx # inline',
        '  keyring = /etc/ceph/$cluster.$name.keyring',
        '[client]',
        '  log file = ""',
        '[client.admin]',
        '  keyring = "/etc/ceph/admin # not a comment.keyring"',
        '[mon]',
        '  mon_data = /var/lib/ceph/mon/$cluster-$id',
        '  long value = a \\',
        'b',
      ].join('\n'),
      'test.conf',
    );
    expect([...conf.sections.keys()]).toEqual(['global', 'client', 'client.admin', 'mon']);
    expect(conf.get('mon_host')).toBe('10.0.0.1');
    expect(conf.get('mon-host')).toBe('10.0.0.1');
    expect(conf.get('auth client required')).toBe('cephx');
    expect(conf.get('keyring', 'client.admin')).toBe('/etc/ceph/admin # not a comment.keyring');
    expect(conf.get('keyring', 'client.ro')).toBe('/etc/ceph/ceph.client.ro.keyring');
    expect(conf.get('keyring', 'client.ro', 'prod')).toBe('/etc/ceph/prod.client.ro.keyring');
    expect(conf.get('log_file', 'client.ro')).toBe('');
    expect(conf.get('mon_data', 'mon.a')).toBe('/var/lib/ceph/mon/ceph-a');
    expect(conf.get('mon_data', 'client.admin')).toBeUndefined();
    expect(conf.get('long_value', 'mon.a')).toBe('a b');
    expect(normalizeKey(' mon   host ')).toBe('mon_host');
  });

  it('names the file and line of what it cannot read', () => {
    expect(() => parseCephConf('mon_host = x', 'a.conf')).toThrow(/a.conf:1: 'mon_host = x' is outside any section/);
    expect(() => parseCephConf('[global]\nmon_host\n', 'a.conf')).toThrow(/a.conf:2: expected 'key = value'/);
    expect(() => parseCephConf('[global\n', 'a.conf')).toThrow(/a.conf:1: cannot read the section header/);
    expect(() => parseCephConf('[global]\nk = "open\n', 'a.conf')).toThrow(/a.conf:2: the quoted value has no closing quote/);
    expect(() => readCephConf('/nonexistent/ceph.conf')).toThrow(CephConfError);
    expect(() => readCephConf('/nonexistent/ceph.conf')).toThrow(/cannot read the Ceph configuration \/nonexistent\/ceph.conf/);
    expect(() => readCephConf(os.tmpdir())).toThrow(/not a regular file/);
    expect(() => parseCephConf('x'.repeat(5 << 20))).toThrow(/larger than/);
  });

  it('reads a real Pacific ceph.conf', () => {
    const conf = readCephConf(CAPTURED_CONF);
    expect(conf.get('fsid')).toBe('878ce9f2-7ae8-4c08-b31d-209ddd0eafc9');
    expect(conf.get('admin_socket', 'osd.0')).toBe('/tmp/ceph-wire/out/osd.0.asok');
    expect(monitorsFromConf(conf)).toEqual([{ host: '127.0.0.1', port: 40200 }]);
  });
});

describe('mon_host', () => {
  it('reads address vectors, one monitor each, separated by commas or spaces', () => {
    expect(parseMonHost('[v2:10.0.0.1:3300,v1:10.0.0.1:6789],[v2:10.0.0.2:3300,v1:10.0.0.2:6789] [v2:10.0.0.3:3301/0,v1:10.0.0.3:6790/0]')).toEqual([
      { text: '[v2:10.0.0.1:3300,v1:10.0.0.1:6789]', v2: { host: '10.0.0.1', port: 3300 }, v1: { host: '10.0.0.1', port: 6789 } },
      { text: '[v2:10.0.0.2:3300,v1:10.0.0.2:6789]', v2: { host: '10.0.0.2', port: 3300 }, v1: { host: '10.0.0.2', port: 6789 } },
      { text: '[v2:10.0.0.3:3301/0,v1:10.0.0.3:6790/0]', v2: { host: '10.0.0.3', port: 3301 }, v1: { host: '10.0.0.3', port: 6790 } },
    ]);
  });

  it('applies Ceph’s defaults to untyped and portless addresses', () => {
    // a plain host: both protocols on their default ports
    expect(parseMonHost('10.0.0.1')).toEqual([{ text: '10.0.0.1', v2: { host: '10.0.0.1', port: 3300 }, v1: { host: '10.0.0.1', port: 6789 } }]);
    // host:6789 is the legacy protocol; any other port msgr2
    expect(parseMonHost('10.0.0.1:6789;10.0.0.2:3300, 10.0.0.3:40000')).toEqual([
      { text: '10.0.0.1:6789', v1: { host: '10.0.0.1', port: 6789 } },
      { text: '10.0.0.2:3300', v2: { host: '10.0.0.2', port: 3300 } },
      { text: '10.0.0.3:40000', v2: { host: '10.0.0.3', port: 40000 } },
    ]);
    // typed, with and without a port
    expect(parseMonHost('v2:10.0.0.1 v1:10.0.0.2')).toEqual([
      { text: 'v2:10.0.0.1', v2: { host: '10.0.0.1', port: 3300 } },
      { text: 'v1:10.0.0.2', v1: { host: '10.0.0.2', port: 6789 } },
    ]);
  });

  it('reads IPv6 in brackets and keeps DNS names for connect time', () => {
    expect(parseMonHost('[v2:[::1]:3300,v1:[::1]:6789]')).toEqual([
      { text: '[v2:[::1]:3300,v1:[::1]:6789]', v2: { host: '::1', port: 3300 }, v1: { host: '::1', port: 6789 } },
    ]);
    expect(parseMonHost('[fd00::5]:3300,[fd00::6]')).toEqual([
      { text: '[fd00::5]:3300', v2: { host: 'fd00::5', port: 3300 } },
      { text: '[fd00::6]', v2: { host: 'fd00::6', port: 3300 }, v1: { host: 'fd00::6', port: 6789 } },
    ]);
    expect(parseMonHost('v2:[fd00::7]:3301')).toEqual([{ text: 'v2:[fd00::7]:3301', v2: { host: 'fd00::7', port: 3301 } }]);
    expect(monitorsForClient('mon-a.ceph.example.com, mon-b.ceph.example.com:3301')).toEqual([
      { host: 'mon-a.ceph.example.com', port: 3300 },
      { host: 'mon-b.ceph.example.com', port: 3301 },
    ]);
  });

  it('gives the msgr2 addresses only, once each, and refuses a mon_host without any', () => {
    expect(monitorsForClient('[v2:10.0.0.1:3300,v1:10.0.0.1:6789],10.0.0.1:3300,10.0.0.2:6789')).toEqual([{ host: '10.0.0.1', port: 3300 }]);
    expect(() => monitorsForClient('10.0.0.1:6789,v1:10.0.0.2:6789')).toThrow(
      /lists only msgr v1 \(legacy\) addresses \(10.0.0.1:6789, v1:10.0.0.2:6789\); mgrpc speaks msgr2 only: give the monitors' v2 addresses \(port 3300 by default\)/,
    );
    expect(() => monitorsForClient('[v1:10.0.0.1:6789]')).toThrow(/only msgr v1/);
    expect(() => monitorsForClient(undefined, '/etc/ceph/ceph.conf')).toThrow(/\/etc\/ceph\/ceph.conf: no mon_host is set/);
  });

  it('refuses what is not an address, with the part it could not read', () => {
    expect(() => parseMonHost('')).toThrow(/mon_host is empty/);
    expect(() => parseMonHost(' , ')).toThrow(/names no monitor/);
    expect(() => parseMonHost('[v2:10.0.0.1:3300,v1:10.0.0.1:6789')).toThrow(/has no closing '\]'/);
    expect(() => parseMonHost('10.0.0.1:99999')).toThrow(/port '99999' in '10.0.0.1:99999' is not a port number/);
    expect(() => parseMonHost('10.0.0.1:http')).toThrow(/port 'http'/);
    expect(() => parseMonHost('[v2:10.0.0.1:3300,tcp:10.0.0.1:6789]')).toThrow(/'tcp:10.0.0.1:6789' .* is not a typed address/);
    expect(() => parseMonHost('mon$1')).toThrow(/'mon\$1' .* is not a host name or IP address/);
    expect(() => parseMonHost(Array(70).fill('10.0.0.1').join(','))).toThrow(/more than 64 monitors/);
  });
});
