// In-process management API tests: a broker from startBroker() with its HTTP API on a free
// port, a small fetch wrapper with basic auth, and amqplib clients (closed after each test).

import amqp, { type ChannelModel } from 'amqplib';
import { startBroker, type RunningBroker, type StartOptions } from '../../src/index.js';

export interface Answer {
  readonly status: number;
  readonly text: string;
  readonly json: unknown;
  readonly headers: Headers;
}

export class Api {
  readonly base: string;
  readonly #auth: string | null;

  constructor(base: string, user: string | null = 'guest', password = 'guest') {
    this.base = base;
    this.#auth = user === null ? null : `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
  }

  as(user: string | null, password = ''): Api {
    return new Api(this.base, user, password);
  }

  /** A request to /api<path> (or to <path> when it does not start with /api or /metrics: then /api is added). */
  async req(method: string, path: string, body?: unknown, options: { raw?: string; contentType?: string } = {}): Promise<Answer> {
    const url = path.startsWith('/metrics') ? `${this.base}${path}` : `${this.base}/api${path}`;
    const headers: Record<string, string> = {};
    if (this.#auth !== null) headers['authorization'] = this.#auth;
    let payload: string | undefined;
    if (options.raw !== undefined) payload = options.raw;
    else if (body !== undefined) payload = JSON.stringify(body);
    if (payload !== undefined) headers['content-type'] = options.contentType ?? 'application/json';
    const res = await fetch(url, { method, headers, ...(payload !== undefined ? { body: payload } : {}) });
    const text = await res.text();
    let json: unknown;
    try {
      json = text === '' ? undefined : JSON.parse(text);
    } catch {
      json = undefined;
    }
    return { status: res.status, text, json, headers: res.headers };
  }

  get(path: string): Promise<Answer> {
    return this.req('GET', path);
  }

  put(path: string, body?: unknown): Promise<Answer> {
    return this.req('PUT', path, body);
  }

  post(path: string, body?: unknown): Promise<Answer> {
    return this.req('POST', path, body);
  }

  delete(path: string): Promise<Answer> {
    return this.req('DELETE', path);
  }
}

export interface AdminTestBroker {
  readonly running: RunningBroker;
  readonly api: Api;
  /** An amqplib connection (as guest unless a url is given), closed by close(). */
  connect(url?: string): Promise<ChannelModel>;
  close(): Promise<void>;
}

export async function adminBroker(options: StartOptions = {}): Promise<AdminTestBroker> {
  const running = await startBroker({ httpPort: 0, ...options });
  const conns: ChannelModel[] = [];
  return {
    running,
    api: new Api(running.httpUrl!),
    async connect(url = running.url) {
      const c = await amqp.connect(url);
      c.on('error', () => undefined);
      conns.push(c);
      return c;
    },
    async close() {
      await Promise.all(conns.map((c) => c.close().catch(() => undefined)));
      await running.close();
    },
  };
}

/** amqp://user:password@host:port/vhost for the running broker. */
export function amqpUrl(running: RunningBroker, user: string, password: string, vhost = '/'): string {
  return `amqp://${encodeURIComponent(user)}:${encodeURIComponent(password)}@127.0.0.1:${running.port}/${encodeURIComponent(vhost)}`;
}

/** Polls until `cond` holds (guards against hangs; not a timing assertion). */
export async function until(cond: () => boolean | Promise<boolean>, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
