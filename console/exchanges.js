// Exchanges: the list (paged on the server) with a form to add one, and an exchange's page
// with its bindings and a publish form.

import { api, get, seg } from './api.js';
import { act, checkbox, clear, field, fmtJson, form, h, input, pagedTable, parseJsonObject, section, select, table, textarea } from './ui.js';
import { queueHref } from './queues.js';

const shown = (name) => (name === '' ? '(AMQP default)' : name);
const urlName = (name) => (name === '' ? 'amq.default' : name);
export const exchangeHref = (vhost, name) => `#/exchanges/${seg(vhost)}/${seg(urlName(name))}`;

export function exchangesPage(root) {
  const list = pagedTable({
    path: '/exchanges',
    name: 'exchanges',
    sort: 'name',
    fields: 'name,vhost,type,durable,auto_delete,internal,arguments',
    columns: [
      { title: 'Virtual host', value: (x) => x.vhost, sort: 'vhost' },
      { title: 'Name', value: (x) => h('a', { href: exchangeHref(x.vhost, x.name) }, shown(x.name)), sort: 'name' },
      { title: 'Type', value: (x) => x.type, sort: 'type' },
      { title: 'Features', value: (x) => [x.durable ? 'D' : '', x.auto_delete ? 'AD' : '', x.internal ? 'I' : '', ...Object.keys(x.arguments ?? {})].filter(Boolean).join(' ') },
    ],
  });
  const add = form(
    'add-exchange',
    [
      field('Virtual host', input('vhost', { value: '/', required: true })),
      field('Name', input('name', { required: true, maxlength: 255 })),
      field('Type', select('type', ['direct', 'fanout', 'topic', 'headers', 'x-delayed-message', 'x-consistent-hash'], 'direct')),
      field('Durable', checkbox('durable', true)),
      field('Arguments (JSON)', textarea('arguments')),
    ],
    'Add exchange',
    async (v) => {
      const ok = await act(`Add exchange ${v.name}`, async () => {
        await api('PUT', `/exchanges/${seg(v.vhost)}/${seg(v.name)}`, { type: v.type, durable: v.durable, auto_delete: false, internal: false, arguments: parseJsonObject(v.arguments, 'Arguments') });
        return `Exchange ${v.name} declared`;
      });
      if (ok) await list.refresh();
    },
  );
  root.append(h('h1', {}, 'Exchanges'), list.el, section('Add an exchange', add));
  return { refresh: list.refresh };
}

export function exchangePage(root, vhost, name) {
  const base = `/exchanges/${seg(vhost)}/${seg(name)}`;
  const info = h('div');
  const out = h('div');
  const into = h('div');
  const publish = form(
    'publish',
    [
      field('Routing key', input('routing_key')),
      field('Payload', textarea('payload')),
      field('Persistent', checkbox('persistent', true)),
      field('Headers (JSON)', textarea('headers')),
      field('Properties (JSON)', textarea('properties', { placeholder: '{"content_type": "text/plain"}' })),
    ],
    'Publish',
    async (v) => {
      await act('Publish', async () => {
        const properties = parseJsonObject(v.properties, 'Properties');
        const headers = parseJsonObject(v.headers, 'Headers');
        if (Object.keys(headers).length > 0) properties.headers = headers;
        if (v.persistent) properties.delivery_mode = 2;
        const r = await api('POST', `${base}/publish`, { routing_key: v.routing_key, payload: v.payload, payload_encoding: 'string', properties });
        return r && r.routed ? 'Message published and routed' : 'Message published but not routed';
      });
    },
  );
  const del = h('button', { type: 'button', class: 'danger' }, 'Delete exchange');
  del.addEventListener('click', async () => {
    if (!confirm(`Delete exchange ${name}?`)) return;
    if (await act('Delete', async () => api('DELETE', base).then(() => `Exchange ${name} deleted`))) location.hash = '#/exchanges';
  });
  root.append(h('h1', {}, 'Exchange ', h('span', { class: 'name' }, name), h('span', { class: 'muted' }, ` in ${vhost}`)), info, h('div', { class: 'actions' }, del), section('Bindings from this exchange', out), section('Bindings to this exchange', into), section('Publish a message', publish));
  const bcols = (dest) => [
    { title: dest ? 'To' : 'From', value: (b) => (dest ? (b.destination_type === 'queue' ? h('a', { href: queueHref(b.vhost, b.destination) }, b.destination) : b.destination) : shown(b.source)) },
    { title: 'Routing key', value: (b) => b.routing_key },
    { title: 'Arguments', value: (b) => fmtJson(b.arguments) },
  ];
  async function refresh() {
    const x = await get(base);
    clear(info, table([{ title: 'Type', value: () => x.type }, { title: 'Durable', value: () => String(x.durable) }, { title: 'Auto-delete', value: () => String(x.auto_delete) }, { title: 'Internal', value: () => String(x.internal) }, { title: 'Arguments', value: () => fmtJson(x.arguments) }], [x]));
    const page = (a) => (Array.isArray(a) ? a : a.items);
    clear(out, table(bcols(true), page(await get(`${base}/bindings/source?page=1&page_size=100`))));
    clear(into, table(bcols(false), page(await get(`${base}/bindings/destination?page=1&page_size=100`))));
  }
  return { refresh };
}
