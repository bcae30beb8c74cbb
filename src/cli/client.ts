// The CLI's side of the management HTTP API: requests with basic auth through node:http (not
// fetch: it loads and lets the process exit some 300 ms sooner, which a CLI run in loops
// feels), and the errors a command can end with, each with the exit code scripts rely on:
// 0 done, 1 the broker refused or failed (e.g. 404, 401, 400), 2 usage error, 3 no broker
// answering at the URL.

import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';

export const EXIT_OK = 0;
export const EXIT_BROKER_ERROR = 1;
export const EXIT_USAGE = 2;
export const EXIT_UNREACHABLE = 3;

/** An error that ends the command with a one-line message and an exit code. */
export class CliError extends Error {
  override readonly name = 'CliError';
  readonly exitCode: number;

  constructor(message: string, exitCode: number) {
    super(message);
    this.exitCode = exitCode;
  }
}

export class UsageError extends CliError {
  constructor(message: string) {
    super(message, EXIT_USAGE);
  }
}

/** The broker answered with an error status. */
export class ApiError extends CliError {
  readonly status: number;
  readonly reason: unknown;

  constructor(message: string, status: number, reason: unknown) {
    super(message, EXIT_BROKER_ERROR);
    this.status = status;
    this.reason = reason;
  }
}

export interface ClientOptions {
  /** Base URL of the HTTP API, e.g. http://127.0.0.1:15672 (a trailing /api is accepted). */
  readonly url: string;
  readonly user: string;
  readonly password: string;
  readonly timeoutMs?: number;
}

export interface RequestOptions {
  /** What to say on 404 instead of the generic text, e.g. "no queue 'q' in vhost '/'". */
  readonly notFound?: string | undefined;
}

/** A path segment as the API wants it: every reserved character (including '/') percent-encoded. */
export function seg(s: string): string {
  return encodeURIComponent(s);
}

export class ApiClient {
  readonly base: string;
  readonly #auth: string;
  readonly #user: string;
  readonly #timeoutMs: number;

  constructor(options: ClientOptions) {
    let u: URL;
    try {
      u = new URL(options.url);
    } catch {
      throw new UsageError(`--url must be an http(s) URL such as http://127.0.0.1:15672, got ${JSON.stringify(options.url)}`);
    }
    if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new UsageError(`--url must be an http(s) URL such as http://127.0.0.1:15672, got ${JSON.stringify(options.url)}`);
    this.base = `${u.origin}${u.pathname.replace(/\/+$/, '').replace(/\/api$/, '')}`;
    this.#user = options.user;
    this.#auth = `Basic ${Buffer.from(`${options.user}:${options.password}`).toString('base64')}`;
    this.#timeoutMs = options.timeoutMs ?? 15_000;
  }

  get<T = unknown>(path: string, o: RequestOptions = {}): Promise<T> {
    return this.request('GET', path, undefined, o) as Promise<T>;
  }

  put(path: string, body: unknown, o: RequestOptions = {}): Promise<unknown> {
    return this.request('PUT', path, body, o);
  }

  post<T = unknown>(path: string, body: unknown, o: RequestOptions = {}): Promise<T> {
    return this.request('POST', path, body, o) as Promise<T>;
  }

  delete(path: string, o: RequestOptions = {}): Promise<unknown> {
    return this.request('DELETE', path, undefined, o);
  }

  /** One request to /api<path>; resolves with the parsed JSON answer (undefined for an empty one). */
  async request(method: string, path: string, body: unknown, o: RequestOptions = {}): Promise<unknown> {
    const url = `${this.base}/api${path}`;
    let res: { status: number; text: string };
    try {
      res = await this.#send(method, url, body === undefined ? undefined : JSON.stringify(body));
    } catch (e) {
      throw this.#unreachable(e);
    }
    const { status, text } = res;
    let json: unknown;
    if (text !== '') {
      try {
        json = JSON.parse(text);
      } catch {
        json = text;
      }
    }
    if (status >= 200 && status < 300) return json;
    const reason = typeof json === 'object' && json !== null && 'reason' in json ? (json as { reason: unknown }).reason : json;
    const reasonText = typeof reason === 'string' ? reason : JSON.stringify(reason);
    if (status === 404) throw new ApiError(o.notFound ?? `not found: ${method} ${url}`, 404, reason);
    if (status === 401) {
      const hint = reasonText === 'Login failed' ? ' (check --user and --password)' : '';
      throw new ApiError(`access refused for user '${this.#user}': ${reasonText}${hint}`, 401, reason);
    }
    throw new ApiError(`${method} ${url} failed (${status}): ${reasonText ?? ''}`, status, reason);
  }

  /** Sends one request on a connection of its own (no keep-alive: nothing holds the process open). */
  #send(method: string, url: string, payload: string | undefined): Promise<{ status: number; text: string }> {
    const request = url.startsWith('https:') ? httpsRequest : httpRequest;
    const headers: Record<string, string> = { authorization: this.#auth };
    if (payload !== undefined) {
      headers['content-type'] = 'application/json';
      headers['content-length'] = String(Buffer.byteLength(payload));
    }
    return new Promise((resolve, reject) => {
      const req = request(url, { method, headers, agent: false, timeout: this.#timeoutMs }, (res: IncomingMessage) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      });
      req.on('timeout', () => req.destroy(Object.assign(new Error('timed out'), { name: 'TimeoutError' })));
      req.on('error', reject);
      req.end(payload);
    });
  }

  #unreachable(e: unknown): CliError {
    const err = e as NodeJS.ErrnoException;
    if (err.name === 'TimeoutError') {
      return new CliError(`the broker at ${this.base} did not answer within ${this.#timeoutMs / 1000} s`, EXIT_UNREACHABLE);
    }
    const code = err.code;
    const why = code === 'ECONNREFUSED' ? 'connection refused' : code === 'ENOTFOUND' ? 'unknown host' : (code ?? err.message);
    return new CliError(
      `no warren is answering at ${this.base} (${why}); start one with \`warren start\`, or point --url at a running broker's HTTP API`,
      EXIT_UNREACHABLE,
    );
  }
}
