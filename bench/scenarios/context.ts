// What every scenario gets: the broker under test, sizes, the load generator, a recorder.

import type { PerfBuild } from '../lib/perf.js';
import type { Recorder } from '../lib/report.js';
import type { Target } from '../lib/target.js';

export interface Sizes {
  /** Messages for backlog, steady (DB size) and TTL. */
  readonly n: number;
  /** Messages for the priority scenario. */
  readonly priorityN: number;
  /** Message body size for backlog/steady/TTL/priority, bytes. */
  readonly size: number;
  /** Measured / warm-up seconds of amqp-perf throughput scenarios. */
  readonly duration: number;
  readonly warmup: number;
  /** Seconds per phase of the responsiveness probe. */
  readonly probeS: number;
  /** Unconfirmed messages in flight for Node publishers with confirms. */
  readonly window: number;
  /** Messages for the amqp-perf backlog scenario (h) and queues for (i), connections for (j). */
  readonly hN: number;
  readonly iN: number;
  readonly jN: number;
}

export interface Ctx {
  readonly target: Target;
  readonly quick: boolean;
  readonly perf: PerfBuild;
  /** taskset CPU list for load-generating clients ("" = none). */
  readonly clientCpus: string;
  readonly sizes: Sizes;
  readonly restartSignal: 'SIGKILL' | 'SIGTERM';
  /** Scratch directory of this run. */
  readonly runDir: string;
}

export interface Scenario {
  readonly name: string;
  readonly title: string;
  /** Runs with the broker already begun for it; records metrics into `rec`. */
  run(ctx: Ctx, rec: Recorder): Promise<void>;
}
