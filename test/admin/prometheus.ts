// A strict reader of the Prometheus text exposition format (0.0.4), for tests: every sample
// must belong to a family announced by # TYPE, names and labels must be well formed, values
// must be numbers. Returns the families by name.

export interface PromSample {
  readonly labels: Record<string, string>;
  readonly value: number;
}

export interface PromFamily {
  type: string;
  help: string;
  readonly samples: PromSample[];
}

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;

function parseLabels(text: string): Record<string, string> {
  const labels: Record<string, string> = {};
  let rest = text;
  while (rest.length > 0) {
    const m = /^([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"(,|$)/.exec(rest);
    if (!m) throw new Error(`malformed labels: {${text}}`);
    labels[m[1]!] = m[2]!.replace(/\\(.)/g, (_all, c: string) => (c === 'n' ? '\n' : c));
    rest = rest.slice(m[0].length);
  }
  return labels;
}

export function parsePrometheus(text: string): Map<string, PromFamily> {
  if (!text.endsWith('\n')) throw new Error('exposition must end with a newline');
  const families = new Map<string, PromFamily>();
  for (const line of text.slice(0, -1).split('\n')) {
    if (line === '') continue;
    const meta = /^# (TYPE|HELP) (\S+) (.*)$/.exec(line);
    if (meta) {
      const [, kind, name, rest] = meta;
      if (!NAME.test(name!)) throw new Error(`bad metric name in: ${line}`);
      let f = families.get(name!);
      if (f === undefined) families.set(name!, (f = { type: '', help: '', samples: [] }));
      if (kind === 'TYPE') {
        if (!['counter', 'gauge', 'untyped', 'summary', 'histogram'].includes(rest!)) throw new Error(`bad type in: ${line}`);
        f.type = rest!;
      } else f.help = rest!;
      continue;
    }
    if (line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m) throw new Error(`malformed sample line: ${line}`);
    const f = families.get(m[1]!);
    if (f === undefined || f.type === '') throw new Error(`sample before its # TYPE: ${line}`);
    const value = Number(m[3] === '+Inf' ? Infinity : m[3] === '-Inf' ? -Infinity : m[3]);
    if (Number.isNaN(value) && m[3] !== 'NaN') throw new Error(`bad value in: ${line}`);
    f.samples.push({ labels: parseLabels(m[2] ?? ''), value });
  }
  return families;
}

/** The value of the one sample of `name` whose labels include `labels`. */
export function metric(families: Map<string, PromFamily>, name: string, labels: Record<string, string> = {}): number {
  const f = families.get(name);
  if (f === undefined) throw new Error(`no metric ${name}`);
  const hits = f.samples.filter((s) => Object.entries(labels).every(([k, v]) => s.labels[k] === v));
  if (hits.length !== 1) throw new Error(`${hits.length} samples of ${name} match ${JSON.stringify(labels)}`);
  return hits[0]!.value;
}
