// `warren start` as a person sees it: readable, coloured lines when stdout is a terminal (run
// here in a pseudo-terminal from python3's pty module), JSON lines when it is a pipe, and
// --log-format to force either.

import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { WARREN_MAIN } from './warren-process.js';

// Runs argv in a pseudo-terminal, sends SIGTERM once `until` appears, and prints all output.
const PTY_RUN = `
import os, pty, select, signal, sys, time
until = sys.argv[1].encode()
pid, fd = pty.fork()
if pid == 0:
    os.execv(sys.argv[2], sys.argv[2:])
out, sent, deadline = b'', False, time.time() + 30
while time.time() < deadline:
    r, _, _ = select.select([fd], [], [], 0.2)
    if not r:
        continue
    try:
        d = os.read(fd, 65536)
    except OSError:
        break
    if not d:
        break
    out += d
    if not sent and until in out:
        os.kill(pid, signal.SIGTERM)
        sent = True
if not sent:
    os.kill(pid, signal.SIGKILL)
_, status = os.waitpid(pid, 0)
sys.stdout.buffer.write(out)
sys.exit(os.waitstatus_to_exitcode(status))
`;

const START = [WARREN_MAIN, 'start', '--host', '127.0.0.1', '--port', '0', '--http-port', 'off', '--data-dir', 'none'];

function run(command: string, args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number | null; stdout: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.on('error', reject);
    child.on('exit', (code) => resolve({ code, stdout }));
  });
}

function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, ...extra };
  for (const k of Object.keys(env)) if ((k.startsWith('WARREN_') || k === 'NO_COLOR') && !(k in extra)) delete env[k];
  return env;
}

/** `warren start <args>` in a pseudo-terminal until its "listening" line, then SIGTERM. */
function inTerminal(args: string[], env: Record<string, string> = {}) {
  return run('python3', ['-c', PTY_RUN, 'listening', process.execPath, ...START, ...args], cleanEnv(env));
}

/** `warren start <args>` with stdout a pipe, stopped once it is listening. */
function inPipe(args: string[]): Promise<{ code: number | null; stdout: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...START, ...args], { env: cleanEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
      if (stdout.includes('listening')) child.kill('SIGTERM');
    });
    child.on('error', reject);
    child.on('exit', (code) => resolve({ code, stdout }));
  });
}

const lines = (s: string) => s.split(/\r?\n/).filter((l) => l !== '');
// eslint-disable-next-line no-control-regex
const ANSI = /\x1b\[[0-9;]*m/g;

describe('log lines of warren start', () => {
  it('are readable and coloured on a terminal', async () => {
    const r = await inTerminal([]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('\x1b[32mINFO \x1b[0m');
    const plain = lines(r.stdout.replace(ANSI, ''));
    expect(plain.some((l) => /^\d\d:\d\d:\d\d\.\d{3} INFO  listening host=127\.0\.0\.1 port=\d+ /.test(l))).toBe(true);
    expect(plain.some((l) => / INFO  stopped$/.test(l))).toBe(true);
    expect(plain.every((l) => !l.startsWith('{'))).toBe(true);
  });

  it('are not coloured on a terminal with NO_COLOR', async () => {
    const r = await inTerminal([], { NO_COLOR: '1' });
    expect(r.code).toBe(0);
    expect(r.stdout).not.toMatch(ANSI);
    expect(lines(r.stdout).some((l) => / INFO  listening /.test(l))).toBe(true);
  });

  it('are JSON on a terminal with --log-format json (or WARREN_LOG_FORMAT=json)', async () => {
    for (const r of [await inTerminal(['--log-format', 'json']), await inTerminal([], { WARREN_LOG_FORMAT: 'json' })]) {
      expect(r.code).toBe(0);
      const parsed = lines(r.stdout).map((l) => JSON.parse(l) as { msg: string });
      expect(parsed.map((p) => p.msg)).toContain('listening');
    }
  });

  it('are JSON when stdout is a pipe, and readable without colour with --log-format pretty', async () => {
    const json = await inPipe([]);
    expect(json.code).toBe(0);
    expect(lines(json.stdout).map((l) => (JSON.parse(l) as { msg: string }).msg)).toContain('listening');
    const pretty = await inPipe(['--log-format', 'pretty']);
    expect(pretty.code).toBe(0);
    expect(pretty.stdout).not.toMatch(ANSI);
    expect(lines(pretty.stdout).some((l) => / INFO  listening host=127\.0\.0\.1 /.test(l))).toBe(true);
  });

  it('refuses an unknown --log-format with exit code 1', async () => {
    const r = await run(process.execPath, [...START, '--log-format', 'xml'], cleanEnv());
    expect(r.code).toBe(1);
  });
});
