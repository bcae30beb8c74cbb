// warren's benchmark suite: `npm run bench [-- scenario ...] [--quick]`.
//
// Spawns the built broker (dist/src/main.js) afresh for every scenario, on a temp data dir and
// a free port, pinned to CPU 0 (taskset) while the load runs on CPU 1; prints a table, appends
// one JSON line per scenario to bench/results/<tag>.jsonl and writes bench/results/<tag>.md.
// The same scenarios run against a RabbitMQ with --target rabbitmq (see bench/README.md).
//
// Scenarios: a b c d e f g h i j (the shared amqp-perf matrix; "throughput" = a b c), backlog,
// steady, responsiveness, ttl, priority, delayed (bench/delayed.ts, when present), f-blast and
// f-blast-1m (amqp-blast, large bodies).

import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { connect } from './lib/amqp.js';
import { RESULTS_DIR, REPO_ROOT, TMP_DIR, WARREN_MAIN } from './lib/paths.js';
import { buildPerf, type PerfBuild } from './lib/perf.js';
import { canPin, machineInfo, pinAll } from './lib/proc.js';
import { appendJson, jsonLine, markdown, Recorder, textTable, writeText, type RunMeta, type ScenarioResult } from './lib/report.js';
import { ExternalTarget, snapshotBroker, WarrenTarget, type Target } from './lib/target.js';
import { envFlag, envInt, envStr, log, now } from './lib/util.js';
import { sideBySide } from './compare-report.js';
import { abuse } from './scenarios/abuse.js';
import { backlog } from './scenarios/backlog.js';
import { aBlast, bBlast, dBlast, fBlast, fBlast1m } from './scenarios/blast.js';
import type { Ctx, Scenario, Sizes } from './scenarios/context.js';
import { externalScenario } from './scenarios/external.js';
import { MATRIX_IDS, matrixScenario } from './scenarios/matrix.js';
import { priority } from './scenarios/priority.js';
import { responsiveness } from './scenarios/responsiveness.js';
import { steady } from './scenarios/steady.js';
import { ttl } from './scenarios/ttl.js';

const OWN: Record<string, Scenario> = {
  backlog,
  steady,
  responsiveness,
  ttl,
  priority,
  abuse,
  'a-blast': aBlast,
  'b-blast': bBlast,
  'd-blast': dBlast,
  'f-blast': fBlast,
  'f-blast-1m': fBlast1m,
  delayed: externalScenario('delayed', '100k delayed messages becoming due within one second (bench/delayed.ts)'),
};

const ALIASES: Record<string, string[]> = {
  throughput: ['a', 'b', 'c'],
  matrix: MATRIX_IDS,
  large: ['f-blast', 'f-blast-1m'],
  blast: ['a-blast', 'b-blast', 'd-blast', 'f-blast'],
  default: ['a', 'b', 'c', 'backlog', 'steady', 'responsiveness', 'ttl', 'priority', 'delayed'],
  all: [...MATRIX_IDS, 'backlog', 'steady', 'responsiveness', 'ttl', 'priority', 'delayed', 'abuse', 'a-blast', 'b-blast', 'd-blast', 'f-blast', 'f-blast-1m'],
  dbsize: ['steady'],
  probe: ['responsiveness'],
  restart: ['backlog'],
};

const USAGE = `usage: npm run bench -- [scenario ...] [options]

scenarios (default: ${ALIASES['default']!.join(' ')}):
  a b c d e f g h i j   the shared amqp-perf matrix (../shared/bench/README.md); throughput = a b c
  backlog               N x 1 KiB persistent + confirms: publish, drain, then N again, kill, restart
  steady                N persistent through a queue (publish+consume+ack): rate, latency, DB size
  responsiveness        10 ms probes + heartbeat gaps, idle vs heavy persistent publishing
  ttl                   N messages with mixed per-message TTLs, no consumer: expiry time, RSS
  priority              x-max-priority 10 under load: order, throughput, overtaking
  delayed               bench/delayed.ts (if present)
  abuse                 four attackers at once beside a publisher/consumer pair: broker RSS, the pair's rate
  a-blast b-blast d-blast  scenarios a (16 B), b (1 KiB), d (16 B fan-out to 10) with amqp-blast, flat out (blast = these and f-blast)
  f-blast f-blast-1m    scenario f with amqp-blast: 64 KiB / 1 MiB bodies flat out, MiB/s, broker RSS each second (large = both)
  all                   everything above

options:
  --quick               small sizes (smoke check, ~2 min); results go to bench/results/tmp/
  --target warren|rabbitmq   (default warren: spawned per scenario)
  --url URL             broker URL for --target rabbitmq
  --pid PID[,PID]       its process(es) (default: found from the port)
  --ctl PATH            conformance/rabbitmq-ref.sh: lets the backlog scenario restart it
  --data-dir DIR        its data dir (DB size figures)
  --pin CPUS            pin the RabbitMQ threads for the run (default: BENCH_BROKER_CPUS)
  --out DIR             results directory (default bench/results, quick: bench/results/tmp)
  --tag TAG             file name stem (default: date-time-target)
  --compare A.jsonl B.jsonl   print a side-by-side markdown of two runs and exit
  --list                list the scenarios and exit

environment: BENCH_N (1000000) BENCH_PRIORITY_N (200000) BENCH_SIZE (1024) BENCH_DURATION (12)
  BENCH_WARMUP (3) BENCH_PROBE_S (10) BENCH_WINDOW (100) BENCH_H_N (200000) BENCH_I_N (10000)
  BENCH_J_N (800) BENCH_BROKER_CPUS (0) BENCH_CLIENT_CPUS (1) BENCH_RESTART_SIGNAL (SIGKILL)
  BENCH_LOG_LEVEL (info) BENCH_KEEP_DATA BENCH_TTL_MIN_MS (1000) BENCH_TTL_MAX_MS (5000)
  BENCH_TTL_PERSISTENT BENCH_PROBE_LOAD (amqp-perf flags) BENCH_SHARED_DIR BENCH_PERF_BIN
  BENCH_ABUSE_S (20) BENCH_ABUSE_ALONE_S (8) BENCH_ABUSE_STALLED (1000) BENCH_ABUSE_DEPTH (10000)
  BENCH_ABUSE_BACKLOG (10000)`;

interface Args {
  scenarios: string[];
  quick: boolean;
  target: 'warren' | 'rabbitmq';
  url: string | null;
  pids: number[] | null;
  ctl: string | null;
  dataDir: string | null;
  pin: string | null;
  out: string | null;
  tag: string | null;
  compare: [string, string] | null;
  list: boolean;
}

function parseArgs(argv: string[]): Args {
  const a: Args = { scenarios: [], quick: false, target: 'warren', url: null, pids: null, ctl: null, dataDir: null, pin: null, out: null, tag: null, compare: null, list: false };
  const value = (i: number, flag: string): string => {
    const v = argv[i];
    if (v === undefined) throw new Error(`${flag} needs a value`);
    return v;
  };
  for (let i = 0; i < argv.length; i++) {
    const x = argv[i]!;
    switch (x) {
      case '--quick':
        a.quick = true;
        break;
      case '--target': {
        const t = value(++i, x);
        if (t !== 'warren' && t !== 'rabbitmq') throw new Error('--target is warren or rabbitmq');
        a.target = t;
        break;
      }
      case '--url':
        a.url = value(++i, x);
        break;
      case '--pid':
        a.pids = value(++i, x).split(',').filter(Boolean).map(Number);
        break;
      case '--ctl':
        a.ctl = value(++i, x);
        break;
      case '--data-dir':
        a.dataDir = value(++i, x);
        break;
      case '--pin':
        a.pin = value(++i, x);
        break;
      case '--out':
        a.out = value(++i, x);
        break;
      case '--tag':
        a.tag = value(++i, x);
        break;
      case '--compare':
        a.compare = [value(++i, x), value(++i, x)];
        break;
      case '--list':
        a.list = true;
        break;
      case '-h':
      case '--help':
        process.stdout.write(USAGE + '\n');
        process.exit(0);
        break;
      default:
        if (x.startsWith('-')) throw new Error(`unknown option ${x}\n${USAGE}`);
        a.scenarios.push(x);
    }
  }
  return a;
}

function expand(names: string[]): string[] {
  const out: string[] = [];
  for (const n of names.length ? names : ['default']) {
    const list = ALIASES[n] ?? [n];
    for (const x of list) {
      if (!MATRIX_IDS.includes(x) && !OWN[x]) throw new Error(`unknown scenario "${x}"\n${USAGE}`);
      if (!out.includes(x)) out.push(x);
    }
  }
  return out;
}

function scenarioOf(name: string): Scenario {
  return OWN[name] ?? matrixScenario(name);
}

function sizes(quick: boolean): Sizes {
  return {
    n: envInt('BENCH_N', quick ? 20_000 : 1_000_000),
    priorityN: envInt('BENCH_PRIORITY_N', quick ? 20_000 : 200_000),
    size: envInt('BENCH_SIZE', 1024),
    duration: envInt('BENCH_DURATION', quick ? 3 : 12),
    warmup: envInt('BENCH_WARMUP', quick ? 1 : 3),
    probeS: envInt('BENCH_PROBE_S', quick ? 3 : 10),
    window: envInt('BENCH_WINDOW', 100),
    hN: envInt('BENCH_H_N', quick ? 20_000 : 200_000),
    iN: envInt('BENCH_I_N', quick ? 500 : 10_000),
    jN: envInt('BENCH_J_N', quick ? 100 : 800),
  };
}

function commit(): string {
  try {
    return execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: REPO_ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return 'unknown';
  }
}

function stamp(): string {
  const d = new Date();
  const p = (n: number): string => String(n).padStart(2, '0');
  return `${d.getFullYear()}${p(d.getMonth() + 1)}${p(d.getDate())}-${p(d.getHours())}${p(d.getMinutes())}${p(d.getSeconds())}`;
}

async function main(): Promise<number> {
  const args = parseArgs(process.argv.slice(2));
  if (args.compare) {
    process.stdout.write(sideBySide(readFileSync(args.compare[0], 'utf8'), readFileSync(args.compare[1], 'utf8')));
    return 0;
  }
  const names = expand(args.scenarios);
  if (args.list) {
    for (const n of [...MATRIX_IDS, ...Object.keys(OWN)]) process.stdout.write(`${n.padEnd(16)} ${scenarioOf(n).title}\n`);
    return 0;
  }
  const quick = args.quick || envFlag('BENCH_QUICK');
  const brokerCpus = envStr('BENCH_BROKER_CPUS', '0');
  const clientCpus = envStr('BENCH_CLIENT_CPUS', '1');
  const sz = sizes(quick);
  const signal = envStr('BENCH_RESTART_SIGNAL', 'SIGKILL') === 'SIGTERM' ? 'SIGTERM' : 'SIGKILL';
  const tag = args.tag ?? `${stamp()}-${args.target}${quick ? '-quick' : ''}`;
  const outDir = args.out ?? (quick ? TMP_DIR : RESULTS_DIR);
  const runDir = join(TMP_DIR, `run-${tag}`);
  mkdirSync(outDir, { recursive: true });
  mkdirSync(runDir, { recursive: true });

  // The load-generating side of this process runs on the client CPUs, away from the broker.
  if (canPin(clientCpus)) pinAll(process.pid, clientCpus);

  let target: Target;
  if (args.target === 'warren') {
    try {
      readFileSync(WARREN_MAIN);
    } catch {
      throw new Error(`${WARREN_MAIN} is missing: build first (npm run build)`);
    }
    // A private copy of the build: a rebuild of dist/ during the run changes nothing.
    const inRepo = runDir.startsWith(REPO_ROOT + '/');
    if (!inRepo) log(`scratch dir ${runDir} is outside the repository: running ${WARREN_MAIN} in place (no snapshot)`);
    const main = envFlag('BENCH_NO_SNAPSHOT') || !inRepo ? WARREN_MAIN : snapshotBroker(runDir);
    target = new WarrenTarget({
      main,
      runDir,
      cpus: brokerCpus,
      logLevel: envStr('BENCH_LOG_LEVEL', 'info'),
      keepData: envFlag('BENCH_KEEP_DATA'),
      // BENCH_WARREN_ARGS: extra `warren start` options, e.g. "--max-connection-buffer 2MiB".
      extraArgs: envStr('BENCH_WARREN_ARGS', '').split(' ').filter((a) => a !== ''),
    });
  } else {
    if (!args.url) throw new Error('--target rabbitmq needs --url');
    target = new ExternalTarget({ url: args.url, pids: args.pids, ctl: args.ctl, dataDir: args.dataDir, pinCpus: args.pin ?? brokerCpus });
  }

  const needsPerf = names.some((n) => MATRIX_IDS.includes(n) || n === 'responsiveness');
  const perf: PerfBuild = needsPerf ? buildPerf() : { bin: null, reason: 'not needed' };
  if (needsPerf && !perf.bin) log(`amqp-perf unavailable: ${perf.reason}`);

  const ctx: Ctx = { target, quick, perf, clientCpus, sizes: sz, restartSignal: signal, runDir };
  const meta: RunMeta = {
    run: tag,
    date: new Date().toISOString(),
    target: target.describe(),
    server: null,
    machine: { ...machineInfo() },
    commit: commit(),
    quick,
    settings: { ...sz, restartSignal: signal, brokerCpus, clientCpus, amqpPerf: perf.bin ? 'yes' : `no (${perf.reason})` },
  };
  const jsonl = join(outDir, `${tag}.jsonl`);
  const md = join(outDir, `${tag}.md`);
  log(`target ${args.target}; scenarios: ${names.join(' ')}${quick ? ' (quick)' : ''}; results -> ${jsonl}; scratch ${runDir}`);

  let stopping = false;
  const onSignal = (sig: string): void => {
    if (stopping) process.exit(130);
    stopping = true;
    log(`${sig}: stopping the broker and exiting`);
    target.close().finally(() => process.exit(130));
  };
  process.on('SIGINT', () => onSignal('SIGINT'));
  process.on('SIGTERM', () => onSignal('SIGTERM'));

  const results: ScenarioResult[] = [];
  const mutableMeta = meta as { server: RunMeta['server'] };
  for (const name of names) {
    const sc = scenarioOf(name);
    const rec = new Recorder(name, sc.title);
    log(`== ${name}: ${sc.title}`);
    const t0 = now();
    try {
      await target.begin(name);
      if (!mutableMeta.server) {
        const c = await connect(target.url);
        mutableMeta.server = c.server;
        await c.close();
      }
      await sc.run(ctx, rec);
    } catch (e) {
      rec.result.ok = false;
      rec.result.error = (e as Error).message.split('\n')[0] ?? String(e);
      log(`${name} FAILED: ${(e as Error).stack ?? String(e)}`);
    }
    rec.result.problems = target.problems();
    try {
      await target.end();
    } catch (e) {
      rec.result.problems.push(`stopping the broker: ${(e as Error).message}`);
    }
    rec.result.seconds = (now() - t0) / 1000;
    results.push(rec.result);
    appendJson(jsonl, jsonLine(meta, rec.result));
    process.stderr.write(textTable([rec.result]) + '\n');
    if (rec.result.problems.length) {
      process.stderr.write(`  broker problems (${rec.result.problems.length}):\n`);
      for (const p of rec.result.problems.slice(0, 5)) process.stderr.write(`    ${p.slice(0, 300)}\n`);
    }
  }
  await target.close();
  process.stdout.write('\n' + textTable(results) + '\n');
  writeText(md, markdown(meta, results));
  log(`wrote ${jsonl} and ${md}`);
  return results.every((r) => r.ok) ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (e: unknown) => {
    process.stderr.write(`bench: ${(e as Error).message}\n`);
    process.exit(2);
  },
);
