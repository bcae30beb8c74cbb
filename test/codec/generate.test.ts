import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { generate, OUTPUT_FILE } from '../../protocol/generate.js';
import { loadSpec, REPO_ROOT } from './helpers.js';

describe('protocol/generate.ts', () => {
  it('regenerating from the spec reproduces the committed methods.generated.ts byte for byte', () => {
    const committed = readFileSync(join(REPO_ROOT, OUTPUT_FILE));
    const generated = Buffer.from(generate(loadSpec()), 'utf8');
    // Compare as text first for a readable diff, then as bytes for exactness.
    expect(generated.toString('utf8')).toBe(committed.toString('utf8'));
    expect(generated.equals(committed)).toBe(true);
  });

  it('is deterministic and pure (same spec in, same text out, spec not mutated)', () => {
    const spec = loadSpec();
    const before = JSON.stringify(spec);
    const a = generate(spec);
    const b = generate(spec);
    expect(a).toBe(b);
    expect(JSON.stringify(spec)).toBe(before);
  });

  it('reflects the spec: a changed spec changes the output', () => {
    const spec = loadSpec();
    const basic = spec.classes.find((c) => c.name === 'basic')!;
    basic.methods.find((m) => m.name === 'nack')!.id = 121;
    const out = generate(spec);
    expect(out).toContain('export const BASIC_NACK = 0x003c0079;');
    expect(out).not.toBe(generate(loadSpec()));
  });

  it('rejects a field whose type it cannot resolve', () => {
    const spec = loadSpec();
    spec.classes[0]!.methods[0]!.arguments.push({ name: 'bogus', domain: 'no-such-domain' });
    expect(() => generate(spec)).toThrow(/unknown type for field bogus/);
  });
});
