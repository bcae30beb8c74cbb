// A standby node's listeners: every connection is forwarded byte for byte to the active
// node's advertised address (AMQP to its AMQP port, AMQPS to its AMQPS port, TLS untouched:
// it ends at the active node; HTTP to its HTTP port), so clients may use
// any node's address. No target (no active node yet): the connection is closed at once and
// the client retries. Backpressure is the sockets' own (pipe); a target that does not answer
// within the connect timeout is given up.

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

  /** Stops listening and drops every forwarded connection. */
  close(): Promise<void> {
    for (const s of this.#sockets) s.destroy();
    this.#sockets.clear();
    return new Promise((resolve) => this.#server.close(() => resolve()));
  }
}
