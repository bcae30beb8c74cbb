// A JSON value as Erlang prints (~p) what RabbitMQ decoded it to: strings as binaries
// (<<"x">>), objects as maps. RabbitMQ's validation texts quote values this way.

export function erlangJson(v: unknown): string {
  if (typeof v === 'string') return `<<"${v}">>`;
  if (v === null || v === undefined) return 'null';
  if (Array.isArray(v)) return `[${v.map(erlangJson).join(',')}]`;
  if (typeof v === 'object') return `#{${Object.entries(v as Record<string, unknown>).map(([k, x]) => `<<"${k}">> => ${erlangJson(x)}`).join(',')}}`;
  return String(v);
}
