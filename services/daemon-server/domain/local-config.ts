// The manager-local options `config set`/`config show` reach (Ceph's
// mgr_stats_period and mgr_stats_threshold): what daemons are told in
// `configure`. A change is pushed to every open session (onChange).
import type { Logger } from '../../../lib/log';
import type { MgrLocalConfig } from './native';

export class LocalConfig implements MgrLocalConfig {
  constructor(
    /** Seconds between daemon reports. */
    public period: number,
    /** Lowest counter priority daemons send. */
    public threshold: number,
    private readonly log: Logger,
    private readonly onChange: () => void,
  ) {
    if (!(period >= 0)) throw new Error(`stats period must be 0 or more seconds, got ${period}`);
  }

  show(): Record<string, string> {
    return { mgr_stats_period: String(this.period), mgr_stats_threshold: String(this.threshold) };
  }

  set(key: string, value: string): string | null {
    if (key !== 'mgr_stats_period' && key !== 'mgr_stats_threshold') {
      return `unrecognized config option '${key}' (mgr-local options: mgr_stats_period, mgr_stats_threshold)`;
    }
    if (!/^\d+(\.\d+)?$/.test(value.trim())) return `${key}: '${value}' is not a non-negative number`;
    const n = Number(value);
    if (key === 'mgr_stats_threshold' && (!Number.isInteger(n) || n > 11)) return `${key}: '${value}' must be a whole number 0..11`;
    if (key === 'mgr_stats_period') this.period = n;
    else this.threshold = n;
    this.log.info('config changed', { key, value: n });
    this.onChange();
    return null;
  }
}
