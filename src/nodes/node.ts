// One warren node among several on one PostgreSQL store (--node-name). It starts as a standby:
// its AMQP, AMQPS and HTTP ports forward every connection to the active node (forward.ts), and every
// 250 ms (and just after the holder's expiry) it looks at the lease (lease.ts). Every second it
// also checks that the active node answers from here; when it does not (a partition between the
// two), forwarded connections are dropped so that clients reconnect elsewhere. Once the lease
// is free or expired it takes it (a new epoch), closes the forwarders and returns, and `warren
// start` opens the store under that epoch (loading definitions and messages; unacked deliveries
// come back redelivered) and serves on the same ports. The active node renews the lease every
// second (a quarter of a lease shorter than 4 s); a renewal finding the lease gone, or no
// renewal for a whole lease period (a watchdog timer, so a renewal stuck on a partitioned network
// counts too), stops the process: it may no longer be the active node, and its writes are fenced
// anyway. A planned stop (SIGTERM) gives the lease up once the store is closed, so a standby takes
// over at once. Renewal runs on the event loop: a start-up that blocks it longer than the lease
// (a huge backlog read synchronously) needs a longer --lease.

import type { Logger } from 'pino';
import type { BrokerConfig } from '../config.js';
import type { Fence } from '../store/postgres/apply.js';
import { Forwarder, probeAmqp } from './forward.js';
import { LeaseClient, type LeaseHolder, type NodeRow } from './lease.js';

const POLL_MS = 250;
/** Near the holder's expiry the standby looks again just after it (this much after), not up to POLL_MS later. */
const EXPIRY_SLACK_MS = 5;
/** Renewal period: every second, or a quarter of a shorter-than-4 s lease (a 2 s lease: 500 ms), so a late timer on a loaded machine does not lose it. */
const RENEW_MS = 1000;
/** How often a standby checks that the active node answers from here, and how long it waits for the answer. */
const PROBE_MS = 1000;
const PROBE_TIMEOUT_MS = 2000;
/** The active node's watchdog looks this often whether a renewal is overdue. */
const WATCHDOG_MS = 100;

/** What the management API, /metrics and `warren status` show of the nodes. */
export interface NodeView {
  readonly name: string;
  readonly role: string;
  readonly address: string;
  readonly epoch: number;
  /** This node's view: ms since the lease was last renewed (-1: no lease). */
  readonly leaseAgeMs: number;
  /** ms since the node last reported itself. */
  readonly lagMs: number;
}

export interface Won {
  readonly fence: Fence;
  readonly port: number;
  readonly httpPort: number | null;
  readonly tlsPort: number | null;
}

function hostPort(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

export class Node {
  readonly #config: BrokerConfig;
  readonly #log: Logger;
  readonly #lease: LeaseClient;
  readonly #fatal: (err: unknown, what: string) => void;
  #fence: Fence | null = null;
  #address = '';
  #httpAddress = '';
  /** When the last successful renewal was sent (this node's clock): its lease runs at least lease ms from then. */
  #lastRenewed = 0;
  #renewTimer: NodeJS.Timeout | null = null;
  #watchdog: NodeJS.Timeout | null = null;
  #stopped = false;
  #lastView: readonly NodeView[] = [];

  private constructor(config: BrokerConfig, lease: LeaseClient, log: Logger, fatal: (err: unknown, what: string) => void) {
    this.#config = config;
    this.#lease = lease;
    this.#log = log;
    this.#fatal = fatal;
  }

  static async start(config: BrokerConfig, url: string, log: Logger, fatal: (err: unknown, what: string) => void): Promise<Node> {
    const name = config.nodeName!;
    const lease = new LeaseClient(url, name, config.leaseMs, log.child({ component: 'lease', node: name }));
    await lease.prepare();
    return new Node(config, lease, log.child({ component: 'node', node: name }), fatal);
  }

  get name(): string {
    return this.#lease.name;
  }

  get epoch(): number {
    return this.#fence?.epoch ?? 0;
  }

  /** Serves as a standby (forwarding) until this node holds the lease; the ports it listens on. */
  async waitForLease(): Promise<Won> {
    let active: LeaseHolder | null = null;
    // The active node's AMQP address when it does not answer from here (a partition between the
    // two nodes): forwarded connections are dropped and new ones refused, so that clients go to
    // another address instead of hanging on a link that passes nothing.
    let unreachable = '';
    const serving = (): LeaseHolder | null => (active === null || active.expired || active.address === unreachable ? null : active);
    const amqp = new Forwarder(() => serving()?.address ?? null);
    const http = this.#config.httpPort === null ? null : new Forwarder(() => serving()?.httpAddress ?? null);
    // AMQPS byte for byte too: TLS ends at the active node, so its certificate, its client-certificate
    // checks (EXTERNAL) and its SIGHUP reloads hold for clients of any node; a standby holds no keys in use.
    const tls = this.#config.tlsPort === null ? null : new Forwarder(() => (serving()?.tlsAddress || null));
    const a = await amqp.listen(this.#config.host, this.#config.port);
    const h = http === null ? null : await http.listen(this.#config.httpHost, this.#config.httpPort!);
    const t = tls === null ? null : await tls.listen(this.#config.host, this.#config.tlsPort!);
    this.#address = hostPort(this.#config.advertiseHost, a.port);
    this.#httpAddress = h === null ? '' : hostPort(this.#config.advertiseHost, h.port);
    const tlsAddress = t === null ? '' : hostPort(this.#config.advertiseHost, t.port);
    this.#log.info({ host: a.address, port: a.port, httpPort: h?.port ?? null, tlsPort: t?.port ?? null, role: 'standby', node: this.name }, 'listening');
    let lastReport = 0;
    let lastHolder = '';
    let probing = true;
    // A node that gives the lease up (a planned stop) says so: look at once, not at the next tick.
    let wake: (() => void) | null = null;
    await this.#lease.onReleased(() => wake?.()).catch((err: unknown) => this.#log.warn({ err: (err as Error).message }, 'standby: cannot listen for a lease given up; looking every 250 ms'));
    const probe = async (): Promise<void> => {
      while (probing) {
        const to = active === null || active.expired ? null : active.address;
        if (to !== null) {
          const ok = await probeAmqp(to, PROBE_TIMEOUT_MS);
          if (!probing) return;
          if (!ok && unreachable !== to) {
            unreachable = to;
            const dropped = amqp.dropAll() + (http?.dropAll() ?? 0) + (tls?.dropAll() ?? 0);
            this.#log.warn({ active: active?.holder ?? null, address: to, dropped }, 'standby: the active node does not answer from here; dropping forwarded connections and refusing new ones');
          } else if (ok && unreachable !== '') {
            unreachable = '';
            this.#log.info({ address: to }, 'standby: the active node answers again; forwarding');
          }
        }
        await new Promise((r) => setTimeout(r, PROBE_MS));
      }
    };
    void probe();
    for (;;) {
      let wait = POLL_MS;
      try {
        active = await this.#lease.holder();
        if (active === null || active.expired) {
          const sentAt = Date.now();
          const fence = await this.#lease.tryAcquire(this.#address, this.#httpAddress, tlsAddress);
          if (fence !== null) {
            probing = false;
            await Promise.all([amqp.close(), http?.close(), tls?.close()]);
            this.#fence = fence;
            this.#lastRenewed = sentAt;
            // expiredForMs: how late after the expiry this node noticed (the database's clock).
            this.#log.info({ epoch: fence.epoch, previous: active?.holder ?? null, expiredForMs: active === null ? null : Math.round(-active.remainingMs) }, 'took the lease: this node is active');
            // From now on, while the store loads: loading must not let the lease lapse.
            this.#startRenewing();
            return { fence, port: a.port, httpPort: h?.port ?? null, tlsPort: t?.port ?? null };
          }
        } else if (active.holder !== lastHolder) {
          lastHolder = active.holder;
          this.#log.info({ active: active.holder, epoch: active.epoch, address: active.address }, 'standby: forwarding clients to the active node');
        }
        if (active !== null && !active.expired) wait = Math.max(EXPIRY_SLACK_MS, Math.min(POLL_MS, active.remainingMs + EXPIRY_SLACK_MS));
        if (Date.now() - lastReport >= RENEW_MS) {
          lastReport = Date.now();
          await this.#lease.report('standby', this.#address, this.#httpAddress, active?.epoch ?? 0);
        }
      } catch (err) {
        this.#log.warn({ err: (err as Error).message }, 'standby: cannot read the lease; retrying');
      }
      await new Promise<void>((r) => {
        const t = setTimeout(done, wait);
        function done(): void {
          clearTimeout(t);
          wake = null;
          r();
        }
        wake = done;
      });
    }
  }

  /**
   * Renews the lease every second while active. A watchdog on its own timer stops the process
   * once no renewal has succeeded for a lease period, counted from when the last good one was
   * sent, so before the lease can have expired in the database: a renewal left waiting on a
   * partitioned network cannot keep the node serving (and confirming nothing) past its lease.
   */
  #startRenewing(): void {
    const fence = this.#fence!;
    const every = Math.min(RENEW_MS, Math.floor(this.#config.leaseMs / 4));
    const lost = (err: Error, what: string): void => {
      if (this.#stopped) return;
      this.#stopTimers();
      this.#fatal(err, what);
    };
    let lastCheck = Date.now();
    let graceUntil = 0;
    this.#watchdog = setInterval(() => {
      const now = Date.now();
      // The event loop itself was held up (a long synchronous read at start-up, a loaded
      // machine): nothing was served meanwhile, and the renewal that was due gets half a lease
      // to answer before the lease is judged (its epoch still ours: nobody took over).
      if (now - lastCheck > 4 * WATCHDOG_MS) graceUntil = now + Math.floor(this.#config.leaseMs / 2);
      lastCheck = now;
      const since = now - this.#lastRenewed;
      if (since + WATCHDOG_MS > this.#config.leaseMs && now >= graceUntil) lost(new Error(`no renewal for ${since} ms (lease ${this.#config.leaseMs} ms)`), 'this node may have lost its lease');
    }, WATCHDOG_MS);
    const tick = async (): Promise<void> => {
      const sentAt = Date.now();
      try {
        if (!(await this.#lease.renew(fence))) {
          lost(new Error(`lease epoch ${fence.epoch} was taken over by another node`), 'this node lost its lease');
          return;
        }
        if (sentAt > this.#lastRenewed) this.#lastRenewed = sentAt;
        await this.#lease.report('active', this.#address, this.#httpAddress, fence.epoch);
        this.#lastView = await this.view();
      } catch (err) {
        this.#log.warn({ err: (err as Error).message }, 'cannot renew the lease; retrying');
      }
      if (!this.#stopped) this.#renewTimer = setTimeout(() => void tick(), every);
    };
    this.#renewTimer = setTimeout(() => void tick(), every);
  }

  #stopTimers(): void {
    this.#stopped = true;
    if (this.#watchdog !== null) clearInterval(this.#watchdog);
    if (this.#renewTimer !== null) clearTimeout(this.#renewTimer);
  }

  /**
   * A planned stop of the active node, once it has stopped serving and its store is closed: the
   * lease is given up so that a standby takes over at its next look, not a lease period later.
   * Whether it could be (false: the database did not answer; the lease then expires as usual).
   */
  async release(): Promise<boolean> {
    const fence = this.#fence;
    this.#stopTimers();
    if (fence === null) return false;
    try {
      const ok = await this.#lease.release(fence);
      this.#log.info({ epoch: fence.epoch, released: ok }, ok ? 'gave the lease up: a standby takes over now' : 'the lease was no longer ours to give up');
      return ok;
    } catch (err) {
      this.#log.warn({ err: (err as Error).message }, 'could not give the lease up; it expires by itself');
      return false;
    } finally {
      await this.#lease.close();
    }
  }

  lastView(): readonly NodeView[] {
    return this.#lastView;
  }

  /** Every node as the database knows it, with this node's view of the lease. */
  async view(): Promise<NodeView[]> {
    const [holder, rows] = await Promise.all([this.#lease.holder(), this.#lease.nodes()]);
    return nodeViews(holder, rows, this.#config.leaseMs);
  }
}

/**
 * The nodes as shown: the lease's holder is `active` while its lease runs; another node is
 * `standby` while it reports itself, `gone` once silent for two lease periods. Epoch and
 * lease age are the lease's for its holder (age -1 for the others).
 */
export function nodeViews(holder: LeaseHolder | null, rows: readonly NodeRow[], leaseMs: number): NodeView[] {
  return rows.map((n) => {
    const holds = holder !== null && holder.holder === n.name;
    return {
      name: n.name,
      role: holds && !holder.expired ? 'active' : n.lagMs > leaseMs * 2 ? 'gone' : 'standby',
      address: n.address,
      epoch: holds ? holder.epoch : n.epoch,
      leaseAgeMs: holds ? Math.round(holder.ageMs) : -1,
      lagMs: Math.round(n.lagMs),
    };
  });
}
