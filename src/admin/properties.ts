// Message properties and payloads as the management API shows and takes them: snake_case
// property names (content_type, delivery_mode, headers, ...), payloads as text or base64.

import { jsonToTable, tableToJson } from '../codec/field-table.js';
import type { BasicProperties } from '../codec/methods.generated.js';
import { badRequest } from './http-error.js';

type StringProperty = 'contentType' | 'contentEncoding' | 'correlationId' | 'replyTo' | 'expiration' | 'messageId' | 'type' | 'userId' | 'appId' | 'clusterId';
type IntegerProperty = 'deliveryMode' | 'priority' | 'timestamp';

const STRINGS: ReadonlyMap<string, StringProperty> = new Map([
  ['content_type', 'contentType'],
  ['content_encoding', 'contentEncoding'],
  ['correlation_id', 'correlationId'],
  ['reply_to', 'replyTo'],
  ['expiration', 'expiration'],
  ['message_id', 'messageId'],
  ['type', 'type'],
  ['user_id', 'userId'],
  ['app_id', 'appId'],
  ['cluster_id', 'clusterId'],
]);

const INTEGERS: ReadonlyMap<string, [IntegerProperty, number]> = new Map([
  ['delivery_mode', ['deliveryMode', 255]],
  ['priority', ['priority', 255]],
  ['timestamp', ['timestamp', Number.MAX_SAFE_INTEGER]],
]);

export function propertiesToJson(p: BasicProperties): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [json, key] of STRINGS) if (p[key] !== undefined) out[json] = p[key];
  for (const [json, [key]] of INTEGERS) if (p[key] !== undefined) out[json] = p[key];
  if (p.headers !== undefined) out['headers'] = tableToJson(p.headers);
  return out;
}

/** Properties from a publish request; a wrong type or unknown name is a 400 naming it. */
export function propertiesFromJson(obj: Record<string, unknown>): BasicProperties {
  const p: BasicProperties = {};
  for (const [k, v] of Object.entries(obj)) {
    const s = STRINGS.get(k);
    if (s !== undefined) {
      if (typeof v !== 'string') throw badRequest(`property ${k} must be a string`);
      p[s] = v;
      continue;
    }
    const i = INTEGERS.get(k);
    if (i !== undefined) {
      const n = typeof v === 'string' && /^\d+$/.test(v) ? Number(v) : v;
      if (typeof n !== 'number' || !Number.isInteger(n) || n < 0 || n > i[1]) throw badRequest(`property ${k} must be an integer from 0 to ${i[1]}`);
      p[i[0]] = n;
      continue;
    }
    if (k === 'headers') {
      if (typeof v !== 'object' || v === null || Array.isArray(v)) throw badRequest('property headers must be an object');
      p.headers = jsonToTable(v as Record<string, unknown>);
      continue;
    }
    throw badRequest(`unknown message property ${k}`);
  }
  return p;
}

/** A body for the API: text when asked ('auto') and it is valid UTF-8, else base64. */
export function payloadJson(body: Buffer, encoding: 'auto' | 'base64', truncate: number | undefined): { payload: string; payload_encoding: string; payload_bytes: number } {
  const shown = truncate !== undefined && truncate < body.length ? body.subarray(0, truncate) : body;
  if (encoding === 'auto') {
    const text = shown.toString('utf8');
    if (Buffer.from(text, 'utf8').equals(shown)) return { payload: text, payload_encoding: 'string', payload_bytes: body.length };
  }
  return { payload: shown.toString('base64'), payload_encoding: 'base64', payload_bytes: body.length };
}

export function payloadFromJson(payload: string, encoding: string): Buffer {
  if (encoding === 'string') return Buffer.from(payload, 'utf8');
  if (encoding === 'base64') {
    if (!/^[A-Za-z0-9+/]*={0,2}$/.test(payload.replace(/\s+/g, ''))) throw badRequest('payload is not valid base64');
    return Buffer.from(payload, 'base64');
  }
  throw badRequest(`payload_encoding must be "string" or "base64", got ${JSON.stringify(encoding)}`);
}
