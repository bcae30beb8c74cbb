// A socket accepted by net.Server, re-made so that its reads go into buffers we give
// (net.Socket's `onread` option, which Node 20 offers only to sockets created with it, not to
// those a server accepts). The server must listen with `pauseOnConnect` so that nothing has been
// read yet; its socket object gives up its handle to a new net.Socket created with `onread`, and
// is destroyed without it (which only drops it from the server's count: the broker closes its
// connections itself). If the handle cannot be had, the socket is returned as it is.

import { Socket } from 'node:net';

export interface ReadBufferSource {
  /** Set when what was read may still be referenced: that memory is not to be read into again. */
  pinned: boolean;
  /** The buffer for the first read. */
  first(): Buffer;
  /** `n` bytes were read into `buf` (the buffer last handed out): they, as a view. */
  read(n: number, buf: Buffer): Buffer;
  /** The ArrayBuffer of what read() returned last, if known (passed on with it). */
  readonly lastBuffer?: ArrayBufferLike | undefined;
  /** The buffer for the next read, called after each read was handled. */
  next(): Buffer;
}

type HandleHolder = { _handle?: object | null };

/** `receive` gets each read (and its ArrayBuffer when known); when it leaves the socket paused, the rest of the read waits in memory: pinned. */
export function withOwnReadBuffers(socket: Socket, source: ReadBufferSource, receive: (chunk: Buffer, ab?: ArrayBufferLike) => void, highWaterMark: number): Socket {
  const holder = socket as unknown as HandleHolder;
  const handle = holder._handle;
  if (handle === undefined || handle === null || socket.readableLength > 0) {
    socket.resume();
    return socket;
  }
  holder._handle = null;
  socket.destroy();
  let first = true;
  const own: Socket = new Socket({
    handle,
    allowHalfOpen: false,
    readable: true,
    writable: true,
    highWaterMark,
    onread: {
      buffer: () => {
        if (!first) return source.next();
        first = false;
        return source.first();
      },
      callback: (n: number, buf: Buffer) => {
        const chunk = source.read(n, buf);
        receive(chunk, source.lastBuffer);
        if (own.isPaused()) source.pinned = true;
      },
    },
  } as ConstructorParameters<typeof Socket>[0]);
  return own;
}
