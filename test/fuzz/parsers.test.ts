// A short fuzz run of every parser of client bytes (fuzz/targets.ts), as part of `npm test`:
// a few thousand generated and mutated inputs, the seed printed so a failure can be replayed
// (FUZZ_SEED=<seed> npx vitest run test/fuzz). The long run is `npm run fuzz`.
import fc from 'fast-check';
import { describe, it } from 'vitest';
import { installAllocationProbe } from '../../fuzz/alloc.js';
import { SYNC_TARGETS } from '../../fuzz/targets.js';

installAllocationProbe();
const seed = process.env['FUZZ_SEED'] !== undefined ? Number(process.env['FUZZ_SEED']) : Date.now() % 2 ** 31;
const RUNS = 600;
console.log(`fuzz parsers: seed ${seed}, ${RUNS} inputs per target (replay: FUZZ_SEED=${seed} npx vitest run test/fuzz/parsers.test.ts)`);

describe('parsers of client bytes under fuzzing', () => {
  for (const [i, t] of SYNC_TARGETS.entries()) {
    it(`${t.name}: only typed errors, properties hold, no allocation above frame-max`, () => {
      fc.assert(
        fc.property(t.arbitrary, (input) => {
          t.check(input);
        }),
        { seed: seed + i, numRuns: RUNS },
      );
    });
  }
});
