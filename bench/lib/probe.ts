// The responsiveness probe (bench/scenarios/responsiveness.ts): every `everyMs`, a publish of a
// small transient message to the probe's own queue, timed until it comes back to the probe's
// consumer, and a passive queue.declare RPC. It runs in a process of its own
// (bench/lib/probe-proc.ts), by default at real-time priority on the client CPU: in the
// run.js process, at the same priority as the load generator and the other clients of the
// client CPU, its RPC p99 with the broker idle was 3-4.5 ms of which about two thirds was the
// probe waiting for its own CPU (2026-12-05, README "Latency under load").

import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { connect, type Conn } from './amqp.js';
import { BENCH_DIST, REPO_ROOT } from './paths.js';
import { canPin } from './proc.js';
import { now, sleep } from './util.js';

export interface ProbeSamples {
  readonly deliver: number[];
  readonly rpc: number[];
  readonly late: number[];
  lost: number;
}

/** Probes every `everyMs` for `ms`; resolves with the round trips measured. */
export async function probe(conn: Conn, queue: string, ms: number, everyMs: number): Promise<ProbeSamples> {
  const ch = await conn.model.createChannel();
  await ch.assertQueue(queue, { durable: false, autoDelete: true });
  const rpcCh = await conn.model.createChannel();
  const pending = new Map<number, number>();
  const out: ProbeSamples = { deliver: [], rpc: [], late: [], lost: 0 };
  const { consumerTag } = await ch.consume(
    queue,
    (m) => {
      if (!m) return;
      const seq = m.content.readUInt32LE(0);
      const t0 = pending.get(seq);
      if (t0 !== undefined) {
        out.deliver.push(now() - t0);
        pending.delete(seq);
      }
    },
    { noAck: true },
  );
  let seq = 0;
  let rpcBusy = false;
  const start = now();
  let k = 0;
  await new Promise<void>((resolve) => {
    const tick = (): void => {
      const t = now();
      out.late.push(Math.max(0, t - (start + k * everyMs)));
      seq++;
      const b = Buffer.alloc(16);
      b.writeUInt32LE(seq, 0);
      pending.set(seq, t);
      ch.sendToQueue(queue, b);
      if (!rpcBusy) {
        rpcBusy = true;
        const r0 = now();
        rpcCh.checkQueue(queue).then(
          () => {
            out.rpc.push(now() - r0);
            rpcBusy = false;
          },
          () => (rpcBusy = false),
        );
      }
      k++;
      const next = start + k * everyMs;
      if (next - start >= ms) {
        resolve();
        return;
      }
      setTimeout(tick, Math.max(0, next - now()));
    };
    tick();
  });
  // let the last probes come back
  const deadline = now() + 5000;
  while ((pending.size > 0 || rpcBusy) && now() < deadline) await sleep(10);
  out.lost = pending.size;
  await ch.cancel(consumerTag);
  await ch.close();
  await rpcCh.close();
  return out;
}

/** How the probe runs: 'raw' (bench/lib/probe-raw.py, the default since 2026-12-05: the same
 *  probe in raw frames without a client library, own process, SCHED_FIFO 1 where allowed),
 *  'rt' (amqplib, own process, SCHED_FIFO 1), 'plain' (amqplib, own process, the ordinary
 *  priority) or 'inline' (amqplib in the caller's process, as before 2026-12-05). */
export type ProbeMode = 'rt' | 'plain' | 'inline' | 'raw';

export const PROBE_MODES: readonly ProbeMode[] = ['rt', 'plain', 'inline', 'raw'];

/** Debian's python3, where its standard library is all the raw probe needs. */
const PYTHON = process.env['BENCH_PYTHON'] ?? '/usr/bin/python3';

export interface ProbeRun {
  readonly samples: ProbeSamples;
  /** What actually ran, e.g. "own process, SCHED_FIFO 1, CPU 1". */
  readonly how: string;
}

/** Runs one probe phase in the chosen mode. `inline` needs `conn`; the others connect to `url`. */
export async function runProbe(mode: ProbeMode, url: string, conn: Conn | null, queue: string, ms: number, everyMs: number, clientCpus: string): Promise<ProbeRun> {
  if (mode === 'inline') {
    if (!conn) throw new Error('inline probe needs a connection');
    return { samples: await probe(conn, queue, ms, everyMs), how: 'in the run.js process' };
  }
  const argv =
    mode === 'raw'
      ? [PYTHON, join(REPO_ROOT, 'bench', 'lib', 'probe-raw.py'), url, queue, String(ms), String(everyMs)]
      : [process.execPath, join(BENCH_DIST, 'lib', 'probe-proc.js'), url, queue, String(ms), String(everyMs)];
  const pin = canPin(clientCpus);
  const realtime = mode === 'rt' || mode === 'raw';
  const cmd: string[] = [];
  if (realtime) cmd.push('chrt', '-f', '1');
  if (pin) cmd.push('taskset', '-c', clientCpus);
  cmd.push(...argv);
  const how = `own process${mode === 'raw' ? ' (raw frames, python3)' : ''}${realtime ? ', SCHED_FIFO 1' : ''}${pin ? `, CPU ${clientCpus}` : ''}`;
  const res = await runChild(cmd);
  if (res.ok) return { samples: res.samples, how };
  if (mode === 'raw' && res.error.includes('chrt')) {
    const again = await runChild(cmd.slice(3));
    if (again.ok) return { samples: again.samples, how: `${how} (SCHED_FIFO refused: ${res.error})` };
  }
  if (mode === 'rt') {
    // chrt needs CAP_SYS_NICE; without it the probe still runs, and the note says so
    const again = await runProbe('plain', url, conn, queue, ms, everyMs, clientCpus);
    return { samples: again.samples, how: `${again.how} (SCHED_FIFO refused: ${res.error})` };
  }
  throw new Error(`probe process: ${res.error}`);
}

type ChildResult = { ok: true; samples: ProbeSamples } | { ok: false; error: string };

function runChild(cmd: readonly string[]): Promise<ChildResult> {
  return new Promise((resolve) => {
    const child = spawn(cmd[0]!, cmd.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.once('error', (e) => resolve({ ok: false, error: e.message }));
    child.once('exit', (code) => {
      try {
        if (code !== 0) throw new Error(`exit ${code}: ${err.trim().split('\n').slice(-3).join(' ')}`);
        resolve({ ok: true, samples: JSON.parse(out.trim().split('\n').pop() ?? '') as ProbeSamples });
      } catch (e) {
        resolve({ ok: false, error: (e as Error).message });
      }
    });
  });
}
