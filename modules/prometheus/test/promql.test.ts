// The PromQL reader the compatibility test relies on: it must find missing
// names and labels, or that test could not fail.
import { checkLabels, Families, metricNames, parse } from './promql';
import { parseLabelValues, durationSeconds } from './ceph-files';

const families: Families = new Map([
  ['ceph_osd_up', new Set(['ceph_daemon'])],
  ['ceph_osd_metadata', new Set(['ceph_daemon', 'hostname'])],
  ['ceph_pool_metadata', new Set(['pool_id', 'name'])],
  ['ceph_pg_total', new Set(['pool_id'])],
  ['ceph_rgw_req', new Set(['instance_id'])],
  ['ceph_rgw_metadata', new Set(['ceph_daemon', 'instance_id'])],
]);
const target = new Set(['job', 'instance']);
const problems = (e: string, fams = families) => checkLabels(parse(e), fams, target).map((p) => `${p.metric}:${p.label}`);

describe('PromQL reader', () => {
  it('parses what the shipped rules and dashboards use', () => {
    const e =
      'topk($topk, round((rate(ceph_pool_rd{job=~"$job"}[$__rate_interval]) + rate(ceph_pool_wr[1m])), 1) * on(pool_id) group_left(instance,name) ceph_pool_metadata{job=~"$job"})';
    expect([...metricNames(parse(e))].sort()).toEqual(['ceph_pool_metadata', 'ceph_pool_rd', 'ceph_pool_wr']);
    expect(parse('count(x == 0) <= (count(y) - floor(count(y) / 2) + 1)').kind).toBe('binary');
    expect(parse('sum by (mode) (rate(node_cpu{mode=~"a|b"}[1m])) / scalar(sum(rate(node_cpu[1m])))').kind).toBe('binary');
    expect(parse('absent(up{job="ceph"})').kind).toBe('call');
    expect(parse('a * on() (b == bool 3)').kind).toBe('binary');
    expect(() => parse('sum(')).toThrow();
  });

  it('accepts joins whose labels exist on both sides', () => {
    expect(problems('ceph_osd_up * on(ceph_daemon) group_left(hostname) ceph_osd_metadata')).toEqual([]);
    expect(problems('ceph_pool_metadata * on(pool_id,instance) group_left() (ceph_pg_total - ceph_pg_total)')).toEqual([]);
    expect(
      problems(
        'label_replace(rate(ceph_rgw_req[1m]) * on (instance_id) group_left (ceph_daemon) ceph_rgw_metadata, "rgw_host", "$1", "ceph_daemon", "rgw.(.*)")',
      ),
    ).toEqual([]);
    expect(problems('(node_disk_x * on(instance, device) group_left(ceph_daemon) node_y)')).toEqual([]);
  });

  it('names the metric and the label a join, matcher, grouping or label_replace needs', () => {
    const noPool = new Map(families);
    noPool.set('ceph_pg_total', new Set());
    expect(problems('ceph_pool_metadata * on(pool_id,instance) group_left() (ceph_pg_total - ceph_pg_total)', noPool)).toEqual(['ceph_pg_total:pool_id']);
    expect(problems('ceph_osd_up * on(ceph_daemon) group_left(hostname) ceph_osd_up')).toEqual(['ceph_osd_up:hostname']);
    expect(problems('ceph_osd_up{name="x"}')).toEqual(['ceph_osd_up:name']);
    expect(problems('sum by (device) (ceph_osd_up)')).toEqual(['ceph_osd_up:device']);
    expect(problems('label_replace(ceph_osd_up, "d", "$1", "device", "(.*)")')).toEqual(['ceph_osd_up:device']);
    expect(problems('rate(ceph_nope[1m])')).toEqual(['ceph_nope:']);
  });

  it("reads Grafana's label_values and Prometheus durations", () => {
    expect(parseLabelValues('label_values(ceph_osd_metadata{job=~"$job"}, ceph_daemon)')).toEqual({
      selector: 'ceph_osd_metadata{job=~"$job"}',
      label: 'ceph_daemon',
    });
    expect(parseLabelValues('label_values(pool)')).toEqual({ selector: '', label: 'pool' });
    expect(parseLabelValues('1m,10m')).toBeNull();
    expect([durationSeconds('30s'), durationSeconds('5m'), durationSeconds('1h30m'), durationSeconds(undefined)]).toEqual([30, 300, 5400, 0]);
  });
});
