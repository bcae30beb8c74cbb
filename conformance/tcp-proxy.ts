// A TCP proxy that can partition its link, for the partition tests and chaos runs
// (conformance/partitions.test.ts, bench/chaos-partition.ts): put it between a warren node and
// PostgreSQL, or between a standby and the active node, and cut() it. A cut is a blackhole, not a
// clean close: no FIN, no RST, no error; bytes in either direction are held (as a partitioned
// network holds them in retransmission) and new connections are accepted but go nowhere. heal()
// lets the held bytes through in order and connects the held connections, as TCP does when the
// network comes back before either side gave up. A side that closes while the link is cut is not
// seen by the other until heal() (then it is reset, as the first packet after the partition
// would be). destroyAll() ends every connection (a reset).

import { connect, createServer, type AddressInfo, type Server, type Socket } from 'node:net';

interface Pair {
  readonly client: Socket;
  upstream: Socket | null;
  /** One side closed while cut: the other is reset at heal(). */
  dead: boolean;
  /** Bytes held while cut, per direction. */
  readonly toUpstream: Buffer[];
  readonly toClient: Buffer[];
}

export class TcpProxy {
  readonly #server: Server;
  readonly #pairs = new Set<Pair>();
  readonly #target: { host: string; port: number };
  #cut = false;
  /** Connections accepted so far (a test can see that the other side reconnected). */
  accepted = 0;

  private constructor(target: { host: string; port: number }) {
    this.#target = target;
    this.#server = createServer((client) => this.#accept(client));
  }

  /** Listens on host:port (0: a free one) and forwards to target. */
  static async start(target: { host: string; port: number }, host = '127.0.0.1', port = 0): Promise<TcpProxy> {
    const p = new TcpProxy(target);
    await new Promise<void>((resolve, reject) => {
      p.#server.once('error', reject);
      p.#server.listen(port, host, () => resolve());
    });
    return p;
  }

  get port(): number {
    return (this.#server.address() as AddressInfo).port;
  }

  get isCut(): boolean {
    return this.#cut;
  }

  #accept(client: Socket): void {
    this.accepted++;
    const pair: Pair = { client, upstream: null, dead: false, toUpstream: [], toClient: [] };
    this.#pairs.add(pair);
    const end = (): void => this.#end(pair);
    client.on('error', end).on('close', end);
    client.on('data', (d: Buffer) => {
      if (this.#cut || pair.upstream === null || pair.upstream.connecting) pair.toUpstream.push(d);
      else pair.upstream.write(d);
    });
    if (!this.#cut) this.#connectUpstream(pair, end);
  }

  /** One side closed: the other is closed too, unless the link is cut (then at heal()). */
  #end(pair: Pair): void {
    if (this.#cut) {
      pair.dead = true;
      return;
    }
    pair.client.destroy();
    pair.upstream?.destroy();
    this.#pairs.delete(pair);
  }

  #connectUpstream(pair: Pair, end: () => void): void {
    const up = connect(this.#target);
    pair.upstream = up;
    up.on('error', end).on('close', end);
    up.on('connect', () => {
      if (!this.#cut) this.#flush(pair);
    });
    up.on('data', (d: Buffer) => {
      if (this.#cut) pair.toClient.push(d);
      else pair.client.write(d);
    });
  }

  #flush(pair: Pair): void {
    if (pair.upstream !== null && !pair.upstream.connecting) for (const d of pair.toUpstream.splice(0)) pair.upstream.write(d);
    for (const d of pair.toClient.splice(0)) pair.client.write(d);
  }

  /** Blackholes the link: nothing passes either way, nobody is told. */
  cut(): void {
    this.#cut = true;
  }

  /** Ends the partition: held bytes go through, held connections are connected. */
  heal(): void {
    this.#cut = false;
    for (const pair of [...this.#pairs]) {
      if (pair.dead || pair.client.destroyed) this.#end(pair);
      else if (pair.upstream === null) this.#connectUpstream(pair, () => this.#end(pair));
      else this.#flush(pair);
    }
  }

  /** Resets every connection through the proxy (both sides see them end). */
  destroyAll(): void {
    for (const pair of this.#pairs) {
      pair.client.destroy();
      pair.upstream?.destroy();
    }
    this.#pairs.clear();
  }

  async close(): Promise<void> {
    this.destroyAll();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }
}
