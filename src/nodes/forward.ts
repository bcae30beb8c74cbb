// A standby node's listeners: every connection is forwarded byte for byte to the active
// node's advertised address (AMQP to its AMQP port, AMQPS to its AMQPS port, TLS untouched:
// it ends at the active node; HTTP to its HTTP port), so clients may use
// any node's address. No target (no active node yet): the connection is closed at once and
// the client retries. Backpressure is the sockets' own (pipe); a target that does not answer
// within the connect timeout is given up. probeAmqp() tells whether the active node answers
// from here: a partition between this node and it (a blackhole) shows no error on the forwarded
// sockets, which would hang until the clients' heartbeats gave up.

import { connect, createServer, type AddressInfo, type Server, type Socket } from 'node:net';

const CONNECT_TIMEOUT_MS = 5000;

export class Forwarder {
  readonly #server: Server;
  readonly #sockets = new Set<Socket>();

  /** `target`: "host:port" of where to forward now, or null. */
  constructor(target: () => string | null) {
    this.#server = createServer((client) => {
      const to = target();
      if (to === null) {
        client.destroy();
        return;
      }
      const i = to.lastIndexOf(':');
      const upstream = connect({ host: to.slice(0, i).replace(/^\[|\]$/g, ''), port: Number(to.slice(i + 1)) });
      upstream.setTimeout(CONNECT_TIMEOUT_MS, () => upstream.destroy());
      upstream.once('connect', () => upstream.setTimeout(0));
      this.#sockets.add(client);
      this.#sockets.add(upstream);
      const end = (): void => {
        client.destroy();
        upstream.destroy();
        this.#sockets.delete(client);
        this.#sockets.delete(upstream);
      };
      client.on('error', end).on('close', end);
      upstream.on('error', end).on('close', end);
      client.pipe(upstream);
      upstream.pipe(client);
    });
  }

  listen(host: string, port: number): Promise<AddressInfo> {
    return new Promise((resolve, reject) => {
      this.#server.once('error', reject);
      this.#server.listen(port, host, () => {
        this.#server.off('error', reject);
        resolve(this.#server.address() as AddressInfo);
      });
    });
  }

  /** Drops every forwarded connection (the active node is out of reach: the clients reconnect elsewhere). */
  dropAll(): number {
    const n = this.#sockets.size / 2;
    for (const s of this.#sockets) s.destroy();
    this.#sockets.clear();
    return n;
  }

  /** Stops listening and drops every forwarded connection. */
  close(): Promise<void> {
    for (const s of this.#sockets) s.destroy();
    this.#sockets.clear();
    return new Promise((resolve) => this.#server.close(() => resolve()));
  }
}

const AMQP_HEADER = Buffer.from('AMQP\x00\x00\x09\x01', 'latin1');

/**
 * Whether an AMQP server answers at `to` ("host:port") within `timeoutMs`: it connects, sends
 * the protocol header and waits for the first byte of connection.start, then closes (before the
 * handshake, so the active node logs nothing above debug).
 */
export function probeAmqp(to: string, timeoutMs: number): Promise<boolean> {
  const i = to.lastIndexOf(':');
  return new Promise((resolve) => {
    const s = connect({ host: to.slice(0, i).replace(/^\[|\]$/g, ''), port: Number(to.slice(i + 1)) });
    let done = false;
    const finish = (ok: boolean): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      s.destroy();
      resolve(ok);
    };
    const timer = setTimeout(() => finish(false), timeoutMs);
    s.once('connect', () => s.write(AMQP_HEADER));
    s.once('data', () => finish(true));
    s.once('error', () => finish(false));
    s.once('close', () => finish(false));
  });
}
