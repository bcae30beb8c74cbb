// `npm run fuzz`: one million inputs (by default) through the in-process targets, shared out
// between the parsers (targets.ts) and the channel state machine (channel-target.ts). Reports
// per target: inputs, inputs per second, crashes (a broken property or an unexpected
// exception; goal 0) and the largest Buffer allocation seen (goal: never above frame-max),
// with the frame writer's shared output slab (allocUnsafeSlow, 256 KiB) shown apart.
// The seed is printed; `--seed S` replays a run. A failure's input is printed as hex with its stack.
//
//   npm run fuzz -- [--inputs 1000000] [--seed S] [--target name,...] [--channel-share 0.02] [--json file]

import { writeFileSync } from 'node:fs';
import fc from 'fast-check';
import { installAllocationProbe, largestAllocation, largestSlabAllocation, resetLargestAllocation } from './alloc.js';
import { channelTarget, ChannelFuzzBroker } from './channel-target.js';
import { FRAME_MAX, FuzzFailure, SYNC_TARGETS, type FuzzTarget } from './targets.js';

installAllocationProbe();

interface Args {
  inputs: number;
  seed: number;
  targets: string[] | null;
  channelShare: number;
  json: string | null;
}

function parseArgs(argv: readonly string[]): Args {
  const a: Args = { inputs: 1_000_000, seed: Date.now() % 2 ** 31, targets: null, channelShare: 0.02, json: null };
  for (let i = 0; i < argv.length; i++) {
    const k = argv[i]!;
    const v = (): string => {
      const x = argv[++i];
      if (x === undefined) throw new Error(`${k} needs a value`);
      return x;
    };
    if (k === '--inputs') a.inputs = Number(v());
    else if (k === '--seed') a.seed = Number(v());
    else if (k === '--target') a.targets = v().split(',');
    else if (k === '--channel-share') a.channelShare = Number(v());
    else if (k === '--json') a.json = v();
    else throw new Error(`unknown argument ${k}`);
  }
  return a;
}

export interface TargetResult {
  readonly target: string;
  readonly inputs: number;
  readonly seconds: number;
  readonly perSecond: number;
  readonly crashes: number;
  readonly largestAllocation: number;
  /** allocUnsafeSlow: the frame writer's shared output slab (see alloc.ts). */
  readonly largestSlab: number;
  readonly samples: string[];
}

function runSync(t: FuzzTarget<never>, runs: number, seed: number): TargetResult {
  let crashes = 0;
  let largest = 0;
  let slab = 0;
  const samples: string[] = [];
  const started = performance.now();
  fc.check(
    fc.property(t.arbitrary, (input) => {
      resetLargestAllocation();
      try {
        t.check(input);
      } catch (e) {
        crashes++;
        if (samples.length < 5) samples.push(`${e instanceof FuzzFailure ? 'property' : 'exception'}: ${(e as Error).stack ?? String(e)}\n    input: ${t.describe(input)}`);
      }
      if (largestAllocation() > largest) largest = largestAllocation();
      if (largestSlabAllocation() > slab) slab = largestSlabAllocation();
      return true;
    }),
    { seed, numRuns: runs },
  );
  const seconds = (performance.now() - started) / 1000;
  return { target: t.name, inputs: runs, seconds, perSecond: runs / seconds, crashes, largestAllocation: largest, largestSlab: slab, samples };
}

async function runChannel(runs: number, seed: number): Promise<TargetResult> {
  const broker = await ChannelFuzzBroker.start();
  let crashes = 0;
  let largest = 0;
  let slab = 0;
  const samples: string[] = [];
  const started = performance.now();
  try {
    await fc.check(
      fc.asyncProperty(channelTarget.arbitrary, async (input) => {
        resetLargestAllocation();
        try {
          await channelTarget.check(broker, input);
        } catch (e) {
          crashes++;
          if (samples.length < 5) samples.push(`${e instanceof FuzzFailure ? 'property' : 'exception'}: ${(e as Error).stack ?? String(e)}\n    input: ${channelTarget.describe(input)}`);
        }
        if (largestAllocation() > largest) largest = largestAllocation();
        if (largestSlabAllocation() > slab) slab = largestSlabAllocation();
        return true;
      }),
      { seed, numRuns: runs },
    );
    // The broker still serves a well-behaved client after everything it was fed.
    try {
      await broker.canary();
    } catch (e) {
      crashes++;
      samples.push(`canary failed after the run: ${(e as Error).stack}`);
    }
  } finally {
    await broker.close();
  }
  const seconds = (performance.now() - started) / 1000;
  return { target: channelTarget.name, inputs: runs, seconds, perSecond: runs / seconds, crashes, largestAllocation: largest, largestSlab: slab, samples };
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const names = args.targets ?? [...SYNC_TARGETS.map((t) => t.name), channelTarget.name];
  const sync = SYNC_TARGETS.filter((t) => names.includes(t.name));
  const withChannel = names.includes(channelTarget.name);
  const channelRuns = withChannel ? (sync.length === 0 ? args.inputs : Math.round(args.inputs * args.channelShare)) : 0;
  const perSync = sync.length === 0 ? 0 : Math.floor((args.inputs - channelRuns) / sync.length);
  console.log(`fuzz: seed ${args.seed}, ${args.inputs} inputs (${perSync} per parser target x ${sync.length}, ${channelRuns} channel sessions), frame-max ${FRAME_MAX}`);
  console.log(`replay: npm run fuzz -- --seed ${args.seed} --inputs ${args.inputs}${args.targets ? ` --target ${args.targets.join(',')}` : ''}`);
  const results: TargetResult[] = [];
  const started = performance.now();
  for (const [i, t] of sync.entries()) {
    const r = runSync(t, perSync, args.seed + i);
    results.push(r);
    console.log(`  ${r.target.padEnd(24)} ${String(r.inputs).padStart(8)} inputs  ${Math.round(r.perSecond).toString().padStart(7)}/s  crashes ${r.crashes}  largest allocation ${r.largestAllocation} B${r.largestSlab > 0 ? ` (output slab ${r.largestSlab} B)` : ''}`);
    for (const s of r.samples) console.log('    ' + s.replace(/\n/g, '\n    '));
  }
  if (channelRuns > 0) {
    const r = await runChannel(channelRuns, args.seed + sync.length);
    results.push(r);
    console.log(`  ${r.target.padEnd(24)} ${String(r.inputs).padStart(8)} inputs  ${Math.round(r.perSecond).toString().padStart(7)}/s  crashes ${r.crashes}  largest allocation ${r.largestAllocation} B${r.largestSlab > 0 ? ` (output slab ${r.largestSlab} B)` : ''}`);
    for (const s of r.samples) console.log('    ' + s.replace(/\n/g, '\n    '));
  }
  const seconds = (performance.now() - started) / 1000;
  const total = results.reduce((n, r) => n + r.inputs, 0);
  const crashes = results.reduce((n, r) => n + r.crashes, 0);
  const largest = Math.max(...results.map((r) => r.largestAllocation));
  const slab = Math.max(...results.map((r) => r.largestSlab));
  console.log(`total: ${total} inputs in ${seconds.toFixed(1)} s (${Math.round(total / seconds)}/s), crashes ${crashes}, largest allocation ${largest} B (frame-max ${FRAME_MAX}: ${largest <= FRAME_MAX ? 'never above' : 'ABOVE'}); output slabs (allocUnsafeSlow) up to ${slab} B`);
  if (args.json) writeFileSync(args.json, JSON.stringify({ date: new Date().toISOString(), seed: args.seed, inputs: total, seconds, crashes, largestAllocation: largest, largestSlab: slab, frameMax: FRAME_MAX, results }, null, 2));
  process.exitCode = crashes === 0 ? 0 : 1;
}

main().catch((e: unknown) => {
  console.error(e);
  process.exit(2);
});
