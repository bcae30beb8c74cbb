import { describe, expect, it } from 'vitest';
import { MemoryStore } from '../../src/store/memory-store.js';
import { StreamReaders } from '../../src/stream/readers.js';

const turn = () => new Promise<void>((r) => setImmediate(r));
const stored = (s: MemoryStore) => s.loadReaderOffsets().map((r) => `${r.stream}/${r.reader}=${r.offset}`).sort();

describe('StreamReaders', () => {
  it('creates a reader at its start offset and stores it at once', async () => {
    const store = new MemoryStore();
    const readers = new StreamReaders(store);
    const a = {};
    const r = readers.attach('/', 's', 'r1', a, () => 42);
    expect(r.committed).toBe(42);
    await turn();
    expect(stored(store)).toEqual(['s/r1=42']);
  });

  it('resumes an existing reader where it was committed, whatever the start offset', () => {
    const readers = new StreamReaders(new MemoryStore());
    readers.restore([{ vhost: '/', stream: 's', reader: 'r1', offset: 7 }]);
    expect(readers.attach('/', 's', 'r1', {}, () => 1000).committed).toBe(7);
  });

  it('moves only forward, only by its holder, and coalesces writes per turn', async () => {
    const store = new MemoryStore();
    const readers = new StreamReaders(store);
    const a = {};
    const b = {};
    const r = readers.attach('/', 's', 'r', a, () => 0);
    await turn();
    const writes = store.writeSeq;
    readers.commit(r, a, 5);
    readers.commit(r, a, 9);
    readers.commit(r, a, 3);
    readers.commit(r, b, 100);
    expect(r.committed).toBe(9);
    await turn();
    expect(store.writeSeq - writes).toBe(1);
    expect(stored(store)).toEqual(['s/r=9']);
    readers.detach(r, a);
    readers.commit(r, a, 20); // a late ack after the holder left
    expect(r.committed).toBe(9);
  });

  it('refuses a second holder with 405, and lets a group hand the reader over', () => {
    const readers = new StreamReaders(new MemoryStore());
    const a = {};
    const b = {};
    readers.attach('/', 's', 'r', a, () => 0);
    expect(() => readers.attach('/', 's', 'r', b, () => 0)).toThrow(/RESOURCE_LOCKED|in use by another consumer/);
    const r = readers.attach('/', 's', 'r', b, () => 0, true);
    expect(r.holder).toBe(b);
    readers.commit(r, a, 10);
    expect(r.committed).toBe(0);
  });

  it('resets and deletes only when nobody holds the reader', async () => {
    const store = new MemoryStore();
    const readers = new StreamReaders(store);
    const a = {};
    const r = readers.attach('/', 's', 'r', a, () => 3);
    expect(() => readers.reset(r, 0)).toThrow(/cancel it first/);
    readers.detach(r, a);
    readers.reset(r, 0);
    await turn();
    expect(stored(store)).toEqual(['s/r=0']);
    readers.delete(r);
    expect(readers.get('/', 's', 'r')).toBeUndefined();
    expect(stored(store)).toEqual([]);
  });

  it('lists a stream\'s readers by name and forgets them with the stream', () => {
    const readers = new StreamReaders(new MemoryStore());
    readers.restore([
      { vhost: '/', stream: 's', reader: 'b', offset: 1 },
      { vhost: '/', stream: 's', reader: 'a', offset: 2 },
      { vhost: '/', stream: 't', reader: 'a', offset: 3 },
    ]);
    expect(readers.list('/', 's').map((r) => r.name)).toEqual(['a', 'b']);
    readers.dropStream('/', 's');
    expect(readers.list('/', 's')).toEqual([]);
    expect([...readers.all()].map((r) => r.stream)).toEqual(['t']);
  });
});
