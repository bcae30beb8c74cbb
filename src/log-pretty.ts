// Log lines for people: turns one pino JSON line into `12:03:44.120 INFO  [conn 7 ch 1]
// listening port=5672 ...`, coloured when the output is a terminal. A small formatter rather
// than pino-pretty: that pulls in a dozen packages and, as a transport, writes from a worker
// thread, so the fatal line `warren start` writes right before process.exit could be lost;
// this one runs in the write call, synchronously. Logs are not on the hot path.

export type LogFormat = 'json' | 'pretty';
export const LOG_FORMATS = ['auto', 'json', 'pretty'] as const;
export type LogFormatChoice = (typeof LOG_FORMATS)[number];

/** JSON unless asked for pretty, or left to `auto` with a terminal on stdout. */
export function chooseLogFormat(choice: LogFormatChoice, stdoutIsTty: boolean): LogFormat {
  if (choice === 'auto') return stdoutIsTty ? 'pretty' : 'json';
  return choice;
}

/** Colours only on a terminal, and not when NO_COLOR is set (no-color.org). */
export function useColour(stdoutIsTty: boolean, env: Readonly<Record<string, string | undefined>>): boolean {
  return stdoutIsTty && (env['NO_COLOR'] === undefined || env['NO_COLOR'] === '');
}

const LEVELS: Readonly<Record<number, { name: string; colour: string }>> = {
  10: { name: 'TRACE', colour: '90' },
  20: { name: 'DEBUG', colour: '36' },
  30: { name: 'INFO ', colour: '32' },
  40: { name: 'WARN ', colour: '33' },
  50: { name: 'ERROR', colour: '31' },
  60: { name: 'FATAL', colour: '1;41' },
};

/** Fields shown in the line's prefix or head, not repeated as key=value. */
const HEAD_KEYS = new Set(['level', 'time', 'pid', 'hostname', 'msg', 'conn', 'channel', 'err']);
const MAX_VALUE_CHARS = 2000;

function paint(colour: boolean, code: string, s: string): string {
  return colour ? `\x1b[${code}m${s}\x1b[0m` : s;
}

function clock(time: unknown): string {
  if (typeof time === 'string' && /T(\d\d:\d\d:\d\d(\.\d+)?)/.test(time)) return /T(\d\d:\d\d:\d\d(?:\.\d{1,3})?)/.exec(time)![1]!;
  const d = typeof time === 'number' ? new Date(time) : new Date();
  return d.toISOString().slice(11, 23);
}

function value(v: unknown): string {
  const s = typeof v === 'string' ? (/^[^\s"=]+$/.test(v) ? v : JSON.stringify(v)) : (JSON.stringify(v) ?? String(v));
  return s.length > MAX_VALUE_CHARS ? `${s.slice(0, MAX_VALUE_CHARS)}...` : s;
}

/** One pino JSON line (with or without its newline) as a readable line; anything else passes through. */
export function formatLogLine(line: string, colour: boolean): string {
  let o: Record<string, unknown>;
  try {
    const parsed: unknown = JSON.parse(line);
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return line.endsWith('\n') ? line : `${line}\n`;
    o = parsed as Record<string, unknown>;
  } catch {
    return line.endsWith('\n') ? line : `${line}\n`;
  }
  const level = LEVELS[typeof o['level'] === 'number' ? o['level'] : 30] ?? { name: String(o['level']).toUpperCase().padEnd(5), colour: '0' };
  let out = `${paint(colour, '2', clock(o['time']))} ${paint(colour, level.colour, level.name)}`;
  const where: string[] = [];
  if (o['conn'] !== undefined) where.push(`conn ${value(o['conn'])}`);
  if (o['channel'] !== undefined) where.push(`ch ${value(o['channel'])}`);
  if (where.length > 0) out += ` ${paint(colour, '35', `[${where.join(' ')}]`)}`;
  if (typeof o['msg'] === 'string') out += ` ${colour ? `\x1b[1m${o['msg']}\x1b[0m` : o['msg']}`;
  for (const [k, v] of Object.entries(o)) {
    if (HEAD_KEYS.has(k)) continue;
    out += ` ${paint(colour, '2', `${k}=`)}${value(v)}`;
  }
  const err = o['err'];
  if (err !== undefined) {
    const e = typeof err === 'object' && err !== null ? (err as Record<string, unknown>) : { message: err };
    const stack = typeof e['stack'] === 'string' ? e['stack'] : `${String(e['type'] ?? 'Error')}: ${String(e['message'] ?? '')}`;
    out += `\n${paint(colour, '31', stack.replace(/^/gm, '    '))}`;
  }
  return `${out}\n`;
}
