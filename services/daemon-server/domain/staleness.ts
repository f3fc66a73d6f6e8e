// A daemon silent for 3 report periods is stale (cluster-state raises the
// health warning); it is fresh again when heard. Checked every second.
import type { Logger } from '../../../lib/log';
import type { Ingest } from './ingest';

export const STALE_PERIODS = 3;

/** Starts the checks; returns how to stop them. */
export function startStaleChecks(ingest: Ingest, periodSeconds: () => number, log: Logger): () => void {
  const timer = setInterval(() => {
    const period = periodSeconds();
    if (period <= 0) return;
    ingest.checkStale(period * STALE_PERIODS * 1000).then(
      (c) => {
        if (c.stale.length) log.warn('daemons stale', { daemons: c.stale, periods: STALE_PERIODS });
        if (c.fresh.length) log.info('daemons fresh again', { daemons: c.fresh });
      },
      (e) => log.debug('cannot mark daemons stale yet', { error: (e as Error).message }),
    );
  }, 1000);
  timer.unref();
  return () => clearInterval(timer);
}
