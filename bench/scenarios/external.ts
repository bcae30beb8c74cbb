// Benchmarks kept in their own script under bench/ (e.g. bench/delayed.ts: 100k delayed
// messages becoming due in one second). The runner starts a broker for it as for any scenario,
// then runs `node dist/bench/<name>.js` pinned to the client CPUs with
//   BENCH_URL          the broker's AMQP URL (warren freshly started, or the RabbitMQ given)
//   BENCH_BROKER_PID   its process id(s), comma-separated, for RSS readings
//   BENCH_TARGET       warren | rabbitmq
//   BENCH_QUICK        1 in quick mode
// Every stdout line that is a JSON object is kept; its numeric top-level fields become metrics
// (prefixed with its "name"/"scenario" field when there are several lines). Other output goes
// to stderr. A non-zero exit marks the scenario failed. A script that is not there is skipped.

import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { BENCH_DIST } from '../lib/paths.js';
import { canPin } from '../lib/proc.js';
import type { Recorder } from '../lib/report.js';
import type { Ctx, Scenario } from './context.js';

export function externalScenario(name: string, title: string): Scenario {
  return {
    name,
    title,
    async run(ctx: Ctx, rec: Recorder) {
      const js = join(BENCH_DIST, `${name}.js`);
      if (!existsSync(js)) {
        rec.skip(`no bench/${name}.ts (dist/bench/${name}.js) yet`);
        return;
      }
      const pin = canPin(ctx.clientCpus);
      const env = {
        ...process.env,
        BENCH_URL: ctx.target.url,
        BENCH_BROKER_PID: ctx.target.pids().join(','),
        BENCH_TARGET: ctx.target.kind,
        BENCH_QUICK: ctx.quick ? '1' : '',
      };
      const child = spawn(pin ? 'taskset' : process.execPath, pin ? ['-c', ctx.clientCpus, process.execPath, js] : [js], {
        stdio: ['ignore', 'pipe', 'inherit'],
        env,
      });
      let out = '';
      child.stdout.on('data', (d: Buffer) => {
        out += d.toString();
      });
      const code = await new Promise<number | null>((resolve) => child.once('exit', (c) => resolve(c)));
      const lines: Record<string, unknown>[] = [];
      for (const line of out.split('\n')) {
        const t = line.trim();
        if (!t) continue;
        if (t.startsWith('{')) {
          try {
            lines.push(JSON.parse(t) as Record<string, unknown>);
            continue;
          } catch {
            // not JSON after all
          }
        }
        process.stderr.write(`  ${name}: ${t}\n`);
      }
      rec.raw('lines', lines);
      for (const o of lines) {
        const prefix = lines.length > 1 && typeof (o['name'] ?? o['scenario']) === 'string' ? `${String(o['name'] ?? o['scenario'])}.` : '';
        for (const [k, v] of Object.entries(o)) {
          if (typeof v === 'number') rec.add(prefix + k, prefix + k, v);
        }
      }
      if (code !== 0) throw new Error(`node dist/bench/${name}.js exited with ${code}`);
    },
  };
}
