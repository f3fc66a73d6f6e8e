// The monitors' commands an operator types all day (`health`, `osd tree`,
// `osd pool create`, `config set`, ...), with the descriptors of Ceph
// Pacific's MonCommands.h. In Ceph the `ceph` CLI sends them to the
// monitors; here mgrctl sends them to daemon-server, which validates them,
// checks caps and audits them like any command, and hands them to the
// cluster's monitors through the Monitors seam (monitors.ts). Every entry is
// marked `monitor: true`: a manager never advertises these as its own.
import type { NativeCommand } from '../native';

const POOL_SET_VARS =
  'size|min_size|pg_num|pgp_num|pgp_num_actual|crush_rule|hashpspool|nodelete|nopgchange|nosizechange|write_fadvise_dontneed|noscrub|nodeep-scrub|hit_set_type|hit_set_period|hit_set_count|hit_set_fpp|use_gmt_hitset|target_max_bytes|target_max_objects|cache_target_dirty_ratio|cache_target_dirty_high_ratio|cache_target_full_ratio|cache_min_flush_age|cache_min_evict_age|min_read_recency_for_promote|min_write_recency_for_promote|fast_read|hit_set_grade_decay_rate|hit_set_search_last_n|scrub_min_interval|scrub_max_interval|deep_scrub_interval|recovery_priority|recovery_op_priority|scrub_priority|compression_mode|compression_algorithm|compression_required_ratio|compression_max_blob_size|compression_min_blob_size|csum_type|csum_min_block|csum_max_block|allow_ec_overwrites|fingerprint_algorithm|pg_autoscale_mode|pg_autoscale_bias|pg_num_min|pg_num_max|target_size_bytes|target_size_ratio|dedup_tier|dedup_chunk_algorithm|dedup_cdc_chunk_size|bulk';
const POOL_DELETE_ARGS =
  'name=pool,type=CephPoolname name=pool2,type=CephPoolname,req=false name=yes_i_really_really_mean_it,type=CephBool,req=false name=yes_i_really_really_mean_it_not_faking,type=CephBool,req=false';
const OSD_FLAGS = 'full|pause|noup|nodown|noout|noin|nobackfill|norebalance|norecover|noscrub|nodeep-scrub|notieragent|nosnaptrim';

/** [descriptor, help, perm, caps group (Ceph's MonCommands module)]. */
const TABLE: Array<[string, string, string, string]> = [
  // reads
  ['status', 'show cluster status', 'r', 'mon'],
  ['health name=detail,type=CephChoices,strings=detail,req=false', 'show cluster health', 'r', 'mon'],
  ['df name=detail,type=CephChoices,strings=detail,req=false', 'show cluster free space stats', 'r', 'mon'],
  ['quorum_status', 'report status of monitor quorum', 'r', 'mon'],
  ['versions', 'check running versions of ceph daemons', 'r', 'mon'],
  ['mon stat', 'summarize monitor status', 'r', 'mon'],
  ['mon dump name=epoch,type=CephInt,range=0,req=false', 'dump formatted monmap (optionally from epoch)', 'r', 'mon'],
  [
    'log last name=num,type=CephInt,range=1,req=false name=level,type=CephChoices,strings=debug|info|sec|warn|error,req=false name=channel,type=CephChoices,strings=*|cluster|audit|cephadm,req=false',
    'print last few lines of the cluster log',
    'r',
    'mon',
  ],
  ['osd stat', 'print summary of OSD map', 'r', 'osd'],
  ['osd dump name=epoch,type=CephInt,range=0,req=false', 'print summary of OSD map', 'r', 'osd'],
  [
    'osd tree name=epoch,type=CephInt,range=0,req=false name=states,type=CephChoices,strings=up|down|in|out|destroyed,n=N,req=false',
    'print OSD tree',
    'r',
    'osd',
  ],
  ['osd ls name=epoch,type=CephInt,range=0,req=false', 'show all OSD ids', 'r', 'osd'],
  ['osd pool ls name=detail,type=CephChoices,strings=detail,req=false', 'list pools', 'r', 'osd'],
  ['config dump', 'Show all configuration option(s)', 'r', 'config'],
  ['fs ls', 'list filesystems', 'r', 'fs'],
  ['fs dump name=epoch,type=CephInt,range=0,req=false', 'dump all CephFS status, optionally from epoch', 'r', 'fs'],
  // writes
  [
    'osd pool create name=pool,type=CephPoolname name=pg_num,type=CephInt,range=0,req=false name=pgp_num,type=CephInt,range=0,req=false name=pool_type,type=CephChoices,strings=replicated|erasure,req=false name=erasure_code_profile,type=CephString,req=false,goodchars=[A-Za-z0-9-_.] name=rule,type=CephString,req=false name=expected_num_objects,type=CephInt,range=0,req=false name=size,type=CephInt,range=0,req=false name=pg_num_min,type=CephInt,range=0,req=false name=pg_num_max,type=CephInt,range=0,req=false name=autoscale_mode,type=CephChoices,strings=on|off|warn,req=false name=bulk,type=CephBool,req=false name=target_size_bytes,type=CephInt,range=0,req=false name=target_size_ratio,type=CephFloat,range=0.0,req=false',
    'create pool',
    'rw',
    'osd',
  ],
  [
    `osd pool set name=pool,type=CephPoolname name=var,type=CephChoices,strings=${POOL_SET_VARS} name=val,type=CephString name=yes_i_really_mean_it,type=CephBool,req=false`,
    'set pool parameter <var> to <val>',
    'rw',
    'osd',
  ],
  [
    'osd pool set-quota name=pool,type=CephPoolname name=field,type=CephChoices,strings=max_objects|max_bytes name=val,type=CephString',
    'set object or byte limit on pool',
    'rw',
    'osd',
  ],
  [`osd pool delete ${POOL_DELETE_ARGS}`, 'delete pool', 'rw', 'osd'],
  [`osd pool rm ${POOL_DELETE_ARGS}`, 'remove pool', 'rw', 'osd'],
  ['osd out name=ids,type=CephString,n=N', 'set osd(s) <id> [<id>...] out, or use <any|all> to set all osds out', 'rw', 'osd'],
  ['osd in name=ids,type=CephString,n=N', 'set osd(s) <id> [<id>...] in, can use <any|all> to automatically set all previously out osds in', 'rw', 'osd'],
  [
    'osd down name=ids,type=CephString,n=N name=definitely_dead,type=CephBool,req=false',
    'set osd(s) <id> [<id>...] down, or use <any|all> to set all osds down',
    'rw',
    'osd',
  ],
  ['osd reweight name=id,type=CephOsdName name=weight,type=CephFloat,range=0.0|1.0', 'reweight osd to 0.0 < <weight> < 1.0', 'rw', 'osd'],
  [`osd set name=key,type=CephChoices,strings=${OSD_FLAGS}|pglog_hardlimit name=yes_i_really_mean_it,type=CephBool,req=false`, 'set <key>', 'rw', 'osd'],
  [`osd unset name=key,type=CephChoices,strings=${OSD_FLAGS}`, 'unset <key>', 'rw', 'osd'],
  [
    'osd pg-upmap-items name=pgid,type=CephPgid name=id,type=CephOsdName,n=N',
    'set pg_upmap_items mapping <pgid>:{<id> to <id>, [...]} (developers only)',
    'rw',
    'osd',
  ],
  ['osd rm-pg-upmap-items name=pgid,type=CephPgid', 'clear pg_upmap_items mapping for <pgid> (developers only)', 'rw', 'osd'],
  [
    'osd pool application enable name=pool,type=CephPoolname name=app,type=CephString,goodchars=[A-Za-z0-9-_.] name=yes_i_really_mean_it,type=CephBool,req=false',
    'enable use of an application <app> [cephfs,rbd,rgw] on pool <poolname>',
    'rw',
    'osd',
  ],
  [
    'osd pool application disable name=pool,type=CephPoolname name=app,type=CephString name=yes_i_really_mean_it,type=CephBool,req=false',
    'disables use of an application <app> on pool <poolname>',
    'rw',
    'osd',
  ],
  ['osd pool rename name=srcpool,type=CephPoolname name=destpool,type=CephPoolname', 'rename <srcpool> to <destpool>', 'rw', 'osd'],
  [
    'config set name=who,type=CephString name=name,type=CephString name=value,type=CephString name=force,type=CephBool,req=false',
    'Set a configuration option for one or more entities',
    'rw',
    'config',
  ],
  ['config rm name=who,type=CephString name=name,type=CephString', 'Clear a configuration option for one or more entities', 'rw', 'config'],
];

export const MONITOR_COMMANDS: NativeCommand[] = TABLE.map(([cmd, desc, perm, service]) => {
  const prefix = cmd.split(' name=')[0];
  return {
    cmd,
    desc,
    perm,
    service,
    monitor: true,
    run: (ctx) => ctx.monitors.command({ prefix, args: ctx.args, inbuf: ctx.inbuf, entity: ctx.entity }),
  };
});
