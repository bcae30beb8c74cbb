// The channel table keeps the channel last looked up (most frames go to the one before's
// channel): a channel removed, or all of them cleared, must not be found through it again, and
// a number opened anew must find its new channel.
import { describe, expect, it } from 'vitest';
import type { Channel } from '../../src/connection/channel.js';
import { ChannelTable } from '../../src/connection/channel-table.js';

function fakeChannel(id: number): Channel {
  return { id, stats: { published: 0, delivered: 0, acked: 0 }, release: () => {} } as unknown as Channel;
}

describe('ChannelTable.get', () => {
  it('finds what was added, and the same channel again from the kept one', () => {
    const t = new ChannelTable();
    const a = fakeChannel(1);
    const b = fakeChannel(2);
    t.add(a);
    t.add(b);
    expect(t.get(1)).toBe(a);
    expect(t.get(1)).toBe(a);
    expect(t.get(2)).toBe(b);
    expect(t.get(1)).toBe(a);
    expect(t.get(3)).toBeUndefined();
    expect(t.get(1)).toBe(a);
  });

  it('forgets a removed channel, and finds the next one opened on its number', () => {
    const t = new ChannelTable();
    const a = fakeChannel(1);
    t.add(a);
    expect(t.get(1)).toBe(a);
    t.remove(a);
    expect(t.get(1)).toBeUndefined();
    const again = fakeChannel(1);
    t.add(again);
    expect(t.get(1)).toBe(again);
    expect(t.closedStats.channels).toBe(1);
  });

  it('forgets every channel once cleared', () => {
    const t = new ChannelTable();
    const a = fakeChannel(5);
    t.add(a);
    expect(t.get(5)).toBe(a);
    t.clear();
    expect(t.get(5)).toBeUndefined();
    expect(t.size).toBe(0);
  });
});
