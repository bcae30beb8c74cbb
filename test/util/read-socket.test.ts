// withOwnReadBuffers: a socket a net.Server accepted (paused on connect) reads into the buffers
// we give, in order; a read after which the socket is paused pins its buffer (the rest of it
// waits there), and reading goes on after resume().

import { connect, createServer, type Server, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { ReadBuffers } from '../../src/connection/read-buffers.js';
import { withOwnReadBuffers } from '../../src/util/read-socket.js';

let server: Server | null = null;
const sockets: Socket[] = [];

afterEach(async () => {
  for (const s of sockets.splice(0)) s.destroy();
  await new Promise<void>((r) => (server ? server.close(() => r()) : r()));
  server = null;
});

/** A server whose accepted socket reads into `reads`; resolves with it and the client side. */
function pair(reads: ReadBuffers, receive: (chunk: Buffer, own: Socket) => void): Promise<{ own: Socket; client: Socket }> {
  return new Promise((resolve) => {
    server = createServer({ pauseOnConnect: true }, (accepted) => {
      let own: Socket | null = null;
      own = withOwnReadBuffers(accepted, reads, (chunk) => receive(chunk, own!), 256 * 1024);
      sockets.push(own);
      resolve({ own, client });
    });
    let client: Socket;
    server.listen(0, '127.0.0.1', () => {
      const port = (server!.address() as { port: number }).port;
      client = connect(port, '127.0.0.1');
      sockets.push(client);
    });
  });
}

describe('withOwnReadBuffers', () => {
  it('reads arrive in order, in the buffers given; the server does not count the socket', async () => {
    const reads = new ReadBuffers();
    const got: Buffer[] = [];
    let inArena = 0;
    const { own, client } = await pair(reads, (chunk) => {
      if (chunk.buffer === reads.current) inArena++;
      got.push(Buffer.from(chunk));
    });
    const data = Buffer.alloc(300_000);
    for (let i = 0; i < data.length; i++) data[i] = (i * 13) & 0xff;
    client.write(data);
    await new Promise<void>((r) => {
      const check = (): void => void (Buffer.concat(got).length >= data.length ? r() : setTimeout(check, 5));
      check();
    });
    expect(Buffer.concat(got).equals(data)).toBe(true);
    expect(inArena).toBe(got.length);
    expect(own.remoteAddress).toBe('127.0.0.1');
    await new Promise<void>((r) => server!.getConnections((_e, n) => (expect(n).toBe(0), r())));
  });

  it('a read that leaves the socket paused pins its buffer; resume() reads on', async () => {
    const reads = new ReadBuffers();
    let n = 0;
    let pinnedAfterPause: boolean | null = null;
    const { own, client } = await pair(reads, (_chunk, s) => {
      n++;
      reads.pinned = false; // nothing kept by this receiver
      if (n === 1) {
        s.pause();
        setImmediate(() => {
          pinnedAfterPause = reads.pinned;
          s.resume();
          client.write('more');
        });
      }
    });
    client.write('first');
    await new Promise<void>((r) => {
      const check = (): void => void (n >= 2 ? r() : setTimeout(check, 5));
      check();
    });
    expect(pinnedAfterPause).toBe(true);
    expect(own.isPaused()).toBe(false);
  });
});
