// warren's launchers give Node the V8 flags the broker cannot set for itself once running
// (src/cli/node-flags.ts): the `warren` command's #! line and `npm start` must carry them all.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { LAUNCH_ENV, LAUNCH_NODE_FLAGS, launchEnvWords } from '../../src/cli/node-flags.js';

const root = new URL('../../', import.meta.url);

describe('launch flags', () => {
  it('the #! line of the warren command passes every launch flag to node', () => {
    const first = readFileSync(new URL('src/main.ts', root), 'utf8').split('\n')[0]!;
    expect(first.startsWith('#!/usr/bin/env -S ')).toBe(true);
    const words = first.split(' ');
    const node = words.indexOf('node');
    expect(node).toBeGreaterThan(0);
    for (const f of LAUNCH_NODE_FLAGS) expect(words.indexOf(f)).toBeGreaterThan(node);
  });

  it('npm start passes every launch flag to node before the script', () => {
    const pkg = JSON.parse(readFileSync(new URL('package.json', root), 'utf8')) as { scripts: Record<string, string> };
    const start = pkg.scripts['start']!;
    const node = start.slice(start.indexOf('node '));
    const words = node.split(' ');
    const script = words.indexOf('dist/src/main.js');
    expect(script).toBeGreaterThan(0);
    for (const f of LAUNCH_NODE_FLAGS) {
      expect(words.indexOf(f)).toBeGreaterThan(0);
      expect(words.indexOf(f)).toBeLessThan(script);
    }
  });

  it('the #! line sets the launch environment before node', () => {
    const words = readFileSync(new URL('src/main.ts', root), 'utf8').split('\n')[0]!.split(' ');
    const node = words.indexOf('node');
    expect(launchEnvWords().length).toBeGreaterThan(0);
    for (const a of launchEnvWords()) {
      expect(words.indexOf(a)).toBeGreaterThan(0);
      expect(words.indexOf(a)).toBeLessThan(node);
    }
  });

  it('npm start sets the launch environment for node', () => {
    const pkg = JSON.parse(readFileSync(new URL('package.json', root), 'utf8')) as { scripts: Record<string, string> };
    const words = pkg.scripts['start']!.split(' ');
    const node = words.indexOf('node');
    for (const a of launchEnvWords()) {
      expect(words.indexOf(a)).toBeGreaterThan(0);
      expect(words.indexOf(a)).toBeLessThan(node);
    }
  });

  it('env -S, as the #! line runs it, hands the launch environment to node', () => {
    const line = `${launchEnvWords().join(' ')} ${process.execPath} -e console.log(JSON.stringify(process.env))`;
    const r = spawnSync('/usr/bin/env', ['-S', line], { encoding: 'utf8' });
    expect(r.status).toBe(0);
    const env = JSON.parse(r.stdout) as Record<string, string>;
    for (const [k, v] of Object.entries(LAUNCH_ENV)) expect(env[k]).toBe(v);
  });

  it('the glibc settings are ones glibc takes: whole numbers', () => {
    for (const [k, v] of Object.entries(LAUNCH_ENV)) {
      expect(k).toMatch(/^MALLOC_[A-Z_]+_$/);
      expect(v).toMatch(/^[1-9][0-9]*$/);
    }
  });

  it('the flags are ones node accepts', () => {
    // Not all are allowed in NODE_OPTIONS (allowedNodeEnvironmentFlags): node itself must take them.
    const r = spawnSync(process.execPath, [...LAUNCH_NODE_FLAGS, '-e', 'process.exit(0)'], { encoding: 'utf8' });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
  });
});
