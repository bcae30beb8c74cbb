// warren's launchers give Node the V8 flags the broker cannot set for itself once running
// (src/cli/node-flags.ts): the `warren` command's #! line and `npm start` must carry them all.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { LAUNCH_NODE_FLAGS } from '../../src/cli/node-flags.js';

const root = new URL('../../', import.meta.url);

describe('launch flags', () => {
  it('the #! line of the warren command passes every launch flag to node', () => {
    const first = readFileSync(new URL('src/main.ts', root), 'utf8').split('\n')[0]!;
    expect(first.startsWith('#!/usr/bin/env -S node ')).toBe(true);
    for (const f of LAUNCH_NODE_FLAGS) expect(first.split(' ')).toContain(f);
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

  it('the flags are ones node accepts', () => {
    // Not all are allowed in NODE_OPTIONS (allowedNodeEnvironmentFlags): node itself must take them.
    const r = spawnSync(process.execPath, [...LAUNCH_NODE_FLAGS, '-e', 'process.exit(0)'], { encoding: 'utf8' });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
  });
});
