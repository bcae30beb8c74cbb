// The web console's static files (console/ at the repository root: index.html, JavaScript
// modules, one stylesheet), served at `/` and `/console/<file>` on the management port. They are
// the only public routes besides /metrics: the pages log in with the API's own basic auth. The
// files are read once at start into memory (a fixed set, bounded in count and size), served with
// an ETag, and with a strict Content-Security-Policy: scripts, styles and fetches from this
// origin only, nothing inline, no framing.

import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { notFound } from './http-error.js';

/** The headers every console file carries. */
export const CONSOLE_HEADERS: Readonly<Record<string, string>> = {
  'content-security-policy':
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; font-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
  'cross-origin-opener-policy': 'same-origin',
  'cache-control': 'no-cache',
};

/** Bounds on what is loaded: the directory is ours, but a stray large file must not sit in memory. */
export const CONSOLE_LIMITS = { files: 64, fileBytes: 512 * 1024, totalBytes: 2 * 1024 * 1024 } as const;

const TYPES: Record<string, string> = {
  html: 'text/html; charset=utf-8',
  js: 'text/javascript; charset=utf-8',
  css: 'text/css; charset=utf-8',
  svg: 'image/svg+xml',
};

const FILE_NAME = /^[a-z0-9][a-z0-9-]*\.(html|js|css|svg)$/;

interface StaticFile {
  readonly body: Buffer;
  readonly type: string;
  readonly etag: string;
}

/** The console directory: found walking up from this module (src/admin or dist/src/admin) to the repository root. */
export function findConsoleDir(start = dirname(fileURLToPath(import.meta.url))): string | null {
  let dir = start;
  for (let i = 0; i < 5; i++) {
    const candidate = join(dir, 'console');
    if (existsSync(join(candidate, 'index.html'))) return candidate;
    const up = dirname(dir);
    if (up === dir) break;
    dir = up;
  }
  return null;
}

/** Reads the console's files (names in FILE_NAME's shape only), within CONSOLE_LIMITS. */
export function loadConsole(dir: string): Map<string, StaticFile> {
  const files = new Map<string, StaticFile>();
  let total = 0;
  for (const name of readdirSync(dir).sort()) {
    const m = FILE_NAME.exec(name);
    if (m === null) continue;
    const path = join(dir, name);
    const size = statSync(path).size;
    if (files.size >= CONSOLE_LIMITS.files || size > CONSOLE_LIMITS.fileBytes || total + size > CONSOLE_LIMITS.totalBytes) {
      throw new Error(`console file ${name} is past the console's limits (${CONSOLE_LIMITS.files} files, ${CONSOLE_LIMITS.fileBytes} bytes each, ${CONSOLE_LIMITS.totalBytes} in all)`);
    }
    const body = readFileSync(path);
    total += body.length;
    const etag = `"${createHash('sha256').update(body).digest('base64url').slice(0, 22)}"`;
    files.set(name, { body, type: TYPES[m[1]!]!, etag });
  }
  return files;
}

function send(req: FastifyRequest, reply: FastifyReply, file: StaticFile): FastifyReply {
  void reply.headers(CONSOLE_HEADERS).header('etag', file.etag);
  if (req.headers['if-none-match'] === file.etag) return reply.code(304).send();
  return reply.type(file.type).send(file.body);
}

/** Registers `/` and `/console/:file` (public: they hold no data; every API call the pages make is authenticated). */
export function registerConsoleRoutes(app: FastifyInstance, files: ReadonlyMap<string, StaticFile>): void {
  const pub = { config: { access: 'public' } } as const;
  app.get('/', pub, (req, reply) => {
    const index = files.get('index.html');
    if (index === undefined) return reply.code(404).send(notFound().body);
    return send(req, reply, index);
  });
  app.get<{ Params: { file: string } }>('/console/:file', pub, (req, reply) => {
    const file = files.get(req.params.file);
    if (file === undefined) return reply.code(404).send(notFound().body);
    return send(req, reply, file);
  });
}
