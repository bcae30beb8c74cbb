// The broker's event-loop delay, for /metrics. RabbitMQ has no such figure; the names are
// prom-client's (nodejs_eventloop_lag_*), the usual ones for a Node service. The histogram is
// sampled by libuv off the hot path (one unref'd timer); renderMetrics() reads and resets it, so
// each scrape reports the delay since the previous one, as prom-client does.

import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks';

const RESOLUTION_MS = 10;
let histogram: IntervalHistogram | null = null;

/** Starts sampling (idempotent); called when the HTTP server starts. */
export function startEventLoopMonitor(): void {
  if (histogram !== null) return;
  histogram = monitorEventLoopDelay({ resolution: RESOLUTION_MS });
  histogram.enable();
}

export interface EventLoopDelay {
  readonly minSeconds: number;
  readonly maxSeconds: number;
  readonly meanSeconds: number;
  readonly p50Seconds: number;
  readonly p90Seconds: number;
  readonly p99Seconds: number;
}

const NONE: EventLoopDelay = { minSeconds: 0, maxSeconds: 0, meanSeconds: 0, p50Seconds: 0, p90Seconds: 0, p99Seconds: 0 };

/** Delay since the last call (seconds), then resets; zeros if no sample was taken since; null before the monitor started. */
export function takeEventLoopDelay(): EventLoopDelay | null {
  const h = histogram;
  if (h === null) return null;
  if (h.count === 0) return NONE;
  // The histogram records the time between the sampling timer's runs, which includes the
  // resolution itself; what is left is the delay.
  const s = (ns: number): number => Math.max(0, ns / 1e9 - RESOLUTION_MS / 1e3);
  const d = {
    minSeconds: s(h.min),
    maxSeconds: s(h.max),
    meanSeconds: s(h.mean),
    p50Seconds: s(h.percentile(50)),
    p90Seconds: s(h.percentile(90)),
    p99Seconds: s(h.percentile(99)),
  };
  h.reset();
  return d;
}
