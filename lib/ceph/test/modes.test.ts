// The choice of connection mode (modes.ts): which setting governs which
// pair of peers (AuthRegistry's table, as the wire of pcap 06 shows it),
// Pacific's defaults, reading the settings from a ceph.conf with overrides,
// and clear errors for settings that cannot be read.
import { AuthMethod, ConMode } from '../auth';
import { parseCephConf } from '../conf';
import { governingOption, ModeError, modesFor, modeSettings, PACIFIC_MODES, parseModeList, pickMode, uniformModes } from '../modes';
import { EntityType } from '../types';

const { CLIENT, MON, MGR, OSD, MDS } = EntityType;
const { CRC, SECURE } = ConMode;

describe('connection modes', () => {
  it.each([
    [CLIENT, MON, 'ms_mon_client_mode'],
    [CLIENT, MGR, 'ms_mon_client_mode'],
    [CLIENT, OSD, 'ms_client_mode'],
    [CLIENT, MDS, 'ms_client_mode'],
    [MON, MON, 'ms_mon_cluster_mode'],
    [MON, MGR, 'ms_mon_cluster_mode'],
    [MON, CLIENT, 'ms_mon_service_mode'],
    [MON, OSD, 'ms_mon_service_mode'],
    [MGR, MON, 'ms_mon_cluster_mode'],
    [MGR, OSD, 'ms_mon_service_mode'],
    [MGR, CLIENT, 'ms_mon_service_mode'],
    [OSD, MON, 'ms_mon_cluster_mode'],
    [OSD, MGR, 'ms_mon_cluster_mode'],
    [OSD, OSD, 'ms_cluster_mode'],
    [MDS, OSD, 'ms_cluster_mode'],
    [OSD, CLIENT, 'ms_service_mode'],
  ])('entity type %i towards %i: %s', (me, peer, option) => {
    expect(governingOption(me, peer)).toBe(option);
  });

  it('Pacific defaults give what pcap 06 shows: monitors and managers secure, OSD to OSD crc', () => {
    const chosen = (client: number, server: number) => pickMode(modesFor(PACIFIC_MODES, server, client).modes, modesFor(PACIFIC_MODES, client, server).modes);
    expect(chosen(CLIENT, MON)).toBe(SECURE);
    expect(chosen(OSD, MON)).toBe(SECURE);
    expect(chosen(MGR, MON)).toBe(SECURE);
    expect(chosen(OSD, MGR)).toBe(SECURE);
    expect(chosen(CLIENT, MGR)).toBe(SECURE);
    expect(chosen(MDS, MGR)).toBe(SECURE);
    expect(chosen(OSD, OSD)).toBe(CRC);
    expect(chosen(CLIENT, OSD)).toBe(CRC);
  });

  it('auth none leaves crc only (nothing to encrypt with)', () => {
    expect(modesFor(PACIFIC_MODES, CLIENT, MON, AuthMethod.NONE).modes).toEqual([CRC]);
    expect(modesFor(uniformModes('secure'), CLIENT, MON, AuthMethod.NONE).modes).toEqual([]);
  });

  it("parses Ceph's lists (blanks, commas, semicolons) and names the setting of a bad one", () => {
    expect(parseModeList('secure crc')).toEqual([SECURE, CRC]);
    expect(parseModeList(' crc,secure ')).toEqual([CRC, SECURE]);
    expect(parseModeList('SECURE;secure')).toEqual([SECURE]);
    expect(() => parseModeList('secrue', 'ms_mon_client_mode')).toThrow(ModeError);
    expect(() => parseModeList('secrue', 'ms_mon_client_mode')).toThrow(/ms_mon_client_mode: unknown connection mode 'secrue'/);
    expect(() => parseModeList(' ', 'ms_client_mode')).toThrow(/ms_client_mode is empty/);
  });

  it('reads the settings from a ceph.conf (entity, type, global), under the overrides', () => {
    const conf = parseCephConf(
      [
        '[global]',
        'ms_client_mode = secure',
        'ms mon client mode = crc secure',
        '[client]',
        'ms_mon_client_mode = secure',
        '[client.feed]',
        'ms_service_mode = secure',
      ].join('\n'),
      '/etc/ceph/ceph.conf',
    );
    const admin = modeSettings({ conf, entity: 'client.admin' });
    expect(admin.ms_mon_client_mode).toEqual([SECURE]);
    expect(admin.ms_client_mode).toEqual([SECURE]);
    expect(admin.ms_service_mode).toEqual([CRC, SECURE]); // the default
    expect(modeSettings({ conf, entity: 'client.feed' }).ms_service_mode).toEqual([SECURE]);
    expect(modeSettings({ conf, entity: 'mgr.x' }).ms_mon_client_mode).toEqual([CRC, SECURE]); // [global]'s
    expect(modeSettings({ conf, entity: 'client.admin', overrides: { ms_mon_client_mode: 'crc' } }).ms_mon_client_mode).toEqual([CRC]);
    const bad = parseCephConf('[global]\nms_cluster_mode = plain\n', '/etc/ceph/ceph.conf');
    expect(() => modeSettings({ conf: bad })).toThrow(/ms_cluster_mode in \/etc\/ceph\/ceph.conf: unknown connection mode 'plain'/);
  });
});
