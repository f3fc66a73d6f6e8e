// status: `osd status` and `fs status`, like Ceph's status module (a table,
// or JSON with --format json).
/* eslint-disable @typescript-eslint/no-explicit-any -- Ceph's JSON (maps, views, counters) is read field by field, as Ceph's modules do */
import { CommandResult, MgrModule } from '../../lib/mgr-module';

const SIZE_UNITS = ['', 'k', 'M', 'G', 'T', 'P', 'E'];

/** Ceph's format_bytes/format_dimless style: 1024-based, 3 significant chars. */
export function humanBytes(n: number, dimless = false): string {
  const base = dimless ? 1000 : 1024;
  let i = 0;
  let v = n;
  while (v >= base && i < SIZE_UNITS.length - 1) {
    v /= base;
    i++;
  }
  const num = i === 0 || v >= 100 ? Math.round(v).toString() : v >= 10 ? v.toFixed(1).replace(/\.0$/, '') : v.toFixed(2).replace(/\.?0+$/, '');
  return `${num}${SIZE_UNITS[i]}${dimless ? '' : 'B'}`.replace(/^0B$/, '0');
}

export function table(headers: string[], rows: Array<Array<string | number>>): string {
  const cells = [headers, ...rows.map((r) => r.map(String))];
  const widths = headers.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? '').length)));
  const line = '+' + widths.map((w) => '-'.repeat(w + 2)).join('+') + '+';
  const fmt = (r: string[]) => '| ' + r.map((c, i) => c.padEnd(widths[i])).join(' | ') + ' |';
  return [line, fmt(cells[0]), line, ...cells.slice(1).map(fmt), line].join('\n');
}

export default class Status extends MgrModule {
  static override COMMANDS = [
    { cmd: 'fs status name=fs,type=CephString,req=false', desc: 'Show the status of a CephFS filesystem', perm: 'r' },
    { cmd: 'osd status name=bucket,type=CephString,req=false', desc: 'Show the status of OSDs within a bucket, or all', perm: 'r' },
  ];

  override async handleCommand(_inbuf: string, cmd: Record<string, unknown>): Promise<CommandResult> {
    const json = cmd.format === 'json' || cmd.format === 'json-pretty';
    if (cmd.prefix === 'fs status') return this.fsStatus(cmd.fs as string | undefined, json, cmd.format === 'json-pretty');
    if (cmd.prefix === 'osd status') return this.osdStatus(cmd.bucket as string | undefined, json, cmd.format === 'json-pretty');
    return [-22, '', `unknown command ${String(cmd.prefix)}`];
  }

  private async fsStatus(only: string | undefined, json: boolean, pretty: boolean): Promise<CommandResult> {
    const fsMap = await this.get('fs_map');
    const osdMap = await this.get('osd_map');
    const df = await this.get('df');
    if (!fsMap || !osdMap) return [-11, '', 'the fs map or osd map is not available yet (EAGAIN)'];
    const filesystems = (fsMap.filesystems ?? []).filter((f: any) => !only || f.mdsmap.fs_name === only);
    if (only && !filesystems.length) return [-2, '', `Filesystem not found: '${only}'`];
    const poolName = new Map<number, string>((osdMap.pools ?? []).map((p: any) => [p.pool, p.pool_name]));
    const poolStats = new Map<number, any>((df?.pools ?? []).map((p: any) => [p.id, p.stats]));
    const out = { clients: [] as any[], mds_version: '', mdsmap: [] as any[], pools: [] as any[] };
    const text: string[] = [];
    for (const f of filesystems) {
      const m = f.mdsmap;
      const infos = Object.values(m.info ?? {}) as any[];
      let version = '';
      for (const info of infos.sort((a, b) => a.rank - b.rank)) {
        const meta = await this.getMetadata('mds', info.name);
        version = meta?.ceph_version ?? version;
        const c = async (path: string) => {
          const latest = await this.getLatestCounter('mds', info.name, path);
          const v = latest?.[path];
          return Array.isArray(v) ? Number(v[1]) : 0;
        };
        out.mdsmap.push({
          caps: await c('mds.caps'),
          dirs: (await c('mds.inodes_with_caps')) || (await c('mds_mem.dir')),
          dns: await c('mds_mem.dn'),
          inos: await c('mds_mem.ino'),
          name: info.name,
          rank: info.rank,
          rate: 0,
          state: String(info.state).replace(/^up:/, ''),
        });
      }
      out.mds_version = version;
      out.clients.push({ clients: 0, fs: m.fs_name });
      const pools = [{ id: m.metadata_pool, type: 'metadata' }, ...m.data_pools.map((id: number) => ({ id, type: 'data' }))];
      for (const p of pools) {
        const st = poolStats.get(p.id) ?? {};
        out.pools.push({
          avail: Number(st.max_avail ?? 0),
          id: p.id,
          name: poolName.get(p.id) ?? String(p.id),
          type: p.type,
          used: Number(st.bytes_used ?? 0),
        });
      }
      text.push(`${m.fs_name} - 0 clients`, '='.repeat(m.fs_name.length + 12));
      text.push(
        table(
          ['RANK', 'STATE', 'MDS', 'ACTIVITY', 'DNS', 'INOS', 'DIRS', 'CAPS'],
          out.mdsmap.filter((x) => x.rank >= 0).map((x) => [x.rank, x.state, x.name, `Reqs: ${x.rate} /s`, x.dns, x.inos, x.dirs, x.caps]),
        ),
      );
      text.push(
        table(
          ['POOL', 'TYPE', 'USED', 'AVAIL'],
          out.pools.map((p) => [p.name, p.type, humanBytes(p.used), humanBytes(p.avail)]),
        ),
      );
    }
    const standbys = (fsMap.standbys ?? []).map((s: any) => s.name);
    if (standbys.length)
      text.push(
        table(
          ['STANDBY MDS'],
          standbys.map((s: string) => [s]),
        ),
      );
    if (out.mds_version) text.push(`MDS version: ${out.mds_version}`);
    return [0, json ? JSON.stringify(out, null, pretty ? 4 : undefined) : text.join('\n'), ''];
  }

  private async osdStatus(bucket: string | undefined, json: boolean, pretty: boolean): Promise<CommandResult> {
    const osdMap = await this.get('osd_map');
    const osdStats = await this.get('osd_stats');
    const metadata = (await this.get('osd_metadata')) ?? {};
    if (!osdMap) return [-11, '', 'the osd map is not available yet (EAGAIN)'];
    const statById = new Map<number, any>((osdStats?.osd_stats ?? []).map((s: any) => [s.osd, s]));
    const rows: any[] = [];
    for (const o of osdMap.osds ?? []) {
      const host = metadata[String(o.osd)]?.hostname ?? '';
      if (bucket && host !== bucket) continue;
      const st = statById.get(o.osd) ?? {};
      const rate = async (path: string) => {
        const hist = (await this.getCounter('osd', String(o.osd), path))?.[path] ?? [];
        if (hist.length < 2) return 0;
        const [t0, v0] = hist[hist.length - 2];
        const [t1, v1] = hist[hist.length - 1];
        return t1 > t0 ? Math.max(0, (v1 - v0) / (t1 - t0)) : 0;
      };
      const state = (o.state ?? []).join(',');
      rows.push({
        id: o.osd,
        host_name: host,
        kb_used: Math.round(Number(st.kb_used ?? 0)),
        kb_available: Math.round(Number(st.kb_avail ?? 0)),
        wr_ops_rate: await rate('osd.op_w'),
        wr_data_rate: await rate('osd.op_in_bytes'),
        rd_ops_rate: await rate('osd.op_r'),
        rd_data_rate: await rate('osd.op_out_bytes'),
        state,
      });
    }
    if (json) return [0, JSON.stringify({ OSDs: rows }, null, pretty ? 4 : undefined), ''];
    const t = table(
      ['ID', 'HOST', 'USED', 'AVAIL', 'WR OPS', 'WR DATA', 'RD OPS', 'RD DATA', 'STATE'],
      rows.map((r) => [
        r.id,
        r.host_name,
        humanBytes(r.kb_used * 1024),
        humanBytes(r.kb_available * 1024),
        humanBytes(r.wr_ops_rate, true),
        humanBytes(r.wr_data_rate),
        humanBytes(r.rd_ops_rate, true),
        humanBytes(r.rd_data_rate),
        r.state,
      ]),
    );
    return [0, t, ''];
  }
}
