// RabbitMQ's `samples` in a *_details object of /api/overview, asked for with lengths_age /
// lengths_incr (queue depths) and msg_rates_age / msg_rates_incr (message counts): the kept
// global samples of the last `age` seconds, at least `incr` seconds apart, newest first, with
// `avg_rate` (counts) or `avg` (depths) over them. The web console's charts draw these. Ages
// and increments are bounded; the history itself is a fixed ring (stats.ts HISTORY_SAMPLES).

import type { GlobalSample } from './stats.js';

export interface SamplesQuery {
  lengths_age?: number;
  lengths_incr?: number;
  msg_rates_age?: number;
  msg_rates_incr?: number;
}

const SECONDS = { type: 'integer', minimum: 1, maximum: 86_400 } as const;

export const SAMPLES_QUERY_SCHEMA = {
  type: 'object',
  properties: { lengths_age: SECONDS, lengths_incr: SECONDS, msg_rates_age: SECONDS, msg_rates_incr: SECONDS },
} as const;

export type SampleKey = Exclude<keyof GlobalSample, 'at'>;

export interface Samples {
  readonly samples: { sample: number; timestamp: number }[];
  readonly avg_rate?: number;
  readonly avg?: number;
}

/** The samples of `key` within `age` seconds before `now`, at least `incr` seconds apart, newest first. */
export function samplesOf(history: readonly GlobalSample[], key: SampleKey, age: number, incr: number, now: number, kind: 'count' | 'depth'): Samples {
  const samples: { sample: number; timestamp: number }[] = [];
  const from = now - age * 1000;
  let last = Infinity;
  for (let i = history.length - 1; i >= 0; i--) {
    const h = history[i]!;
    if (h.at < from) break;
    if (last - h.at < incr * 1000) continue;
    samples.push({ sample: h[key], timestamp: h.at });
    last = h.at;
  }
  if (kind === 'depth') {
    const avg = samples.length === 0 ? 0 : samples.reduce((a, s) => a + s.sample, 0) / samples.length;
    return { samples, avg: Math.round(avg * 10) / 10 };
  }
  const newest = samples[0];
  const oldest = samples[samples.length - 1];
  const dt = newest !== undefined && oldest !== undefined ? (newest.timestamp - oldest.timestamp) / 1000 : 0;
  const avgRate = dt > 0 ? (newest!.sample - oldest!.sample) / dt : 0;
  return { samples, avg_rate: Math.round(avgRate * 10) / 10 };
}
