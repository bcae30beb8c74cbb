// A short fuzz run of the connection and channel state machines (fuzz/channel-target.ts) as
// part of `npm test`: random sessions of valid and invalid methods against an in-process broker,
// then a canary client. The seed is printed (replay: FUZZ_SEED=<seed>). `npm run fuzz` runs more.
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { installAllocationProbe } from '../../fuzz/alloc.js';
import { channelTarget, ChannelFuzzBroker } from '../../fuzz/channel-target.js';

installAllocationProbe();
const seed = process.env['FUZZ_SEED'] !== undefined ? Number(process.env['FUZZ_SEED']) : Date.now() % 2 ** 31;
const RUNS = 300;
console.log(`fuzz channel state machine: seed ${seed}, ${RUNS} sessions (replay: FUZZ_SEED=${seed} npx vitest run test/fuzz/channel.test.ts)`);

let broker: ChannelFuzzBroker;
beforeAll(async () => {
  broker = await ChannelFuzzBroker.start();
});
afterAll(async () => {
  await broker?.close();
});

describe('channel state machine under fuzzing', () => {
  it('every session ends in a proper close, nothing is logged as an internal error, the broker forgets the connection', async () => {
    await fc.assert(
      fc.asyncProperty(channelTarget.arbitrary, async (input) => {
        await channelTarget.check(broker, input);
      }),
      { seed, numRuns: RUNS },
    );
  }, 120_000);

  it('a well-behaved client still works afterwards', async () => {
    await broker.canary();
    expect(broker.uncaught).toEqual([]);
  });
});
