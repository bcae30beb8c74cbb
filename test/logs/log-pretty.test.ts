// Readable log lines: when warren chooses them, and what they look like.

import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { resolveConfig } from '../../src/config.js';
import { chooseLogFormat, formatLogLine, useColour } from '../../src/log-pretty.js';
import { createLogger } from '../../src/logger.js';

describe('the log format choice', () => {
  it('auto is pretty on a terminal and JSON otherwise; json and pretty are forced', () => {
    expect(chooseLogFormat('auto', true)).toBe('pretty');
    expect(chooseLogFormat('auto', false)).toBe('json');
    expect(chooseLogFormat('json', true)).toBe('json');
    expect(chooseLogFormat('pretty', false)).toBe('pretty');
  });

  it('colours only on a terminal without NO_COLOR', () => {
    expect(useColour(true, {})).toBe(true);
    expect(useColour(false, {})).toBe(false);
    expect(useColour(true, { NO_COLOR: '1' })).toBe(false);
    expect(useColour(true, { NO_COLOR: '' })).toBe(true);
  });

  it('comes from --log-format, WARREN_LOG_FORMAT or the file, default auto; a bad value is refused', () => {
    expect(resolveConfig({}).config.logFormat).toBe('auto');
    expect(resolveConfig({ env: { WARREN_LOG_FORMAT: 'json' } }).config.logFormat).toBe('json');
    expect(resolveConfig({ env: { WARREN_LOG_FORMAT: 'json' }, flags: { logFormat: 'pretty' } }).config.logFormat).toBe('pretty');
    expect(resolveConfig({ file: { path: 'w.json', text: '{"logFormat":"json"}' } }).config.logFormat).toBe('json');
    expect(() => resolveConfig({ flags: { logFormat: 'xml' } })).toThrow('--log-format: must be one of auto, json, pretty, got "xml"');
  });
});

describe('a pretty line', () => {
  const line = JSON.stringify({ level: 40, time: '2026-12-04T10:11:12.345Z', pid: 7, conn: 3, channel: 1, msg: 'channel closed', code: 404, text: 'NOT_FOUND - no queue' });

  it('has the time, level, connection and channel, message, then the other fields', () => {
    expect(formatLogLine(line, false)).toBe('10:11:12.345 WARN  [conn 3 ch 1] channel closed code=404 text="NOT_FOUND - no queue"\n');
  });

  it('is coloured when asked', () => {
    const s = formatLogLine(line, true);
    expect(s).toContain('\x1b[33mWARN \x1b[0m');
    expect(s.replace(/\x1b\[[0-9;]*m/g, '')).toBe(formatLogLine(line, false));
  });

  it('shows an error stack under the line, indented', () => {
    const s = formatLogLine(JSON.stringify({ level: 60, time: '2026-12-04T10:11:12.345Z', msg: 'boom', err: { type: 'Error', message: 'x', stack: 'Error: x\n    at f (a.js:1:1)' } }), false);
    expect(s).toBe('10:11:12.345 FATAL boom\n    Error: x\n        at f (a.js:1:1)\n');
  });

  it('passes a line that is not JSON through unchanged', () => {
    expect(formatLogLine('plain text', false)).toBe('plain text\n');
    expect(formatLogLine('[1,2]\n', false)).toBe('[1,2]\n');
  });

  it('cuts a very long value', () => {
    const s = formatLogLine(JSON.stringify({ level: 30, msg: 'm', big: 'x'.repeat(5000) }), false);
    expect(s.length).toBeLessThan(2200);
    expect(s).toContain('...');
  });
});

describe('createLogger', () => {
  function capture(): { stream: Writable; text: () => string } {
    let text = '';
    const stream = new Writable({
      write(chunk: Buffer, _enc, cb) {
        text += chunk.toString();
        cb();
      },
    });
    return { stream, text: () => text };
  }

  it('writes pretty lines, synchronously, with child bindings', () => {
    const out = capture();
    const log = createLogger('info', out.stream, { format: 'pretty' }).child({ conn: 9 });
    log.info({ port: 5672 }, 'listening');
    expect(out.text()).toMatch(/^\d\d:\d\d:\d\d\.\d{3} INFO  \[conn 9\] listening port=5672\n$/);
  });

  it('writes JSON lines by default', () => {
    const out = capture();
    createLogger('info', out.stream).info({ port: 5672 }, 'listening');
    expect(JSON.parse(out.text())).toMatchObject({ level: 30, msg: 'listening', port: 5672 });
  });
});
