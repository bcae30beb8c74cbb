// Queues: the list (paged, sorted and filtered by the server), a queue's page (bindings,
// consumers, policy, peek, publish, get, purge, delete, move, redrive) and the streams list.

import { api, get, qs, seg } from './api.js';
import { act, checkbox, clear, field, fmtBytes, fmtJson, fmtNum, fmtRate, form, h, input, notice, pagedTable, parseJsonObject, section, select, table, textarea } from './ui.js';

const FIELDS = 'name,vhost,type,durable,auto_delete,exclusive,arguments,policy,state,consumers,messages,messages_ready,messages_unacknowledged,message_stats,messages_details';

export const queueHref = (vhost, name) => `#/queues/${seg(vhost)}/${seg(name)}`;

function features(q) {
  const f = [];
  if (q.durable) f.push('D');
  if (q.auto_delete) f.push('AD');
  if (q.exclusive) f.push('Excl');
  for (const k of Object.keys(q.arguments ?? {})) f.push(k.replace(/^x-/, ''));
  return f.join(' ');
}

const rate = (q, k) => fmtRate(q.message_stats?.[`${k}_details`]);

const COLUMNS = [
  { title: 'Virtual host', value: (q) => q.vhost, sort: 'vhost' },
  { title: 'Name', value: (q) => h('a', { href: queueHref(q.vhost, q.name) }, q.name), sort: 'name' },
  { title: 'Type', value: (q) => q.type, sort: 'type' },
  { title: 'Features', value: features },
  { title: 'Policy', value: (q) => q.policy ?? '' },
  { title: 'Ready', value: (q) => fmtNum(q.messages_ready), sort: 'messages_ready', num: true },
  { title: 'Unacked', value: (q) => fmtNum(q.messages_unacknowledged), sort: 'messages_unacknowledged', num: true },
  { title: 'Total', value: (q) => fmtNum(q.messages), sort: 'messages', num: true },
  { title: 'Incoming', value: (q) => rate(q, 'publish'), sort: 'message_stats.publish_details.rate', num: true },
  { title: 'Deliver / get', value: (q) => rate(q, 'deliver_get'), sort: 'message_stats.deliver_get_details.rate', num: true },
  { title: 'Ack', value: (q) => rate(q, 'ack'), sort: 'message_stats.ack_details.rate', num: true },
  { title: 'Consumers', value: (q) => fmtNum(q.consumers), sort: 'consumers', num: true },
];

function addQueueForm(after) {
  return form(
    'add-queue',
    [
      field('Virtual host', input('vhost', { value: '/', required: true })),
      field('Name', input('name', { required: true, maxlength: 255 })),
      field('Type', select('type', ['classic', 'quorum', 'stream'], 'classic')),
      field('Durable', checkbox('durable', true)),
      field('Arguments (JSON)', textarea('arguments', { placeholder: '{"x-max-length": 1000}' })),
    ],
    'Add queue',
    async (v) => {
      const ok = await act(`Add queue ${v.name}`, async () => {
        const args = parseJsonObject(v.arguments, 'Arguments');
        if (v.type !== 'classic') args['x-queue-type'] = v.type;
        await api('PUT', `/queues/${seg(v.vhost)}/${seg(v.name)}`, { durable: v.durable, auto_delete: false, arguments: args });
        return `Queue ${v.name} declared`;
      });
      if (ok) await after();
    },
  );
}

export function queuesPage(root) {
  const list = pagedTable({ path: '/queues', columns: COLUMNS, fields: FIELDS, sort: 'name', name: 'queues' });
  root.append(h('h1', {}, 'Queues'), list.el, section('Add a queue', addQueueForm(list.refresh)));
  return { refresh: list.refresh };
}

export function streamsPage(root) {
  const st = (q) => q.stream ?? {};
  const out = h('div');
  root.append(h('h1', {}, 'Streams'), h('p', { class: 'muted' }, 'Queues of type stream (x-queue-type: stream).'), out);
  async function refresh() {
    // 'stream' sorts after 'quorum' and 'classic': in a reverse sort by type, streams come first.
    const a = await get(`/queues${qs({ page: 1, page_size: 500, sort: 'type', sort_reverse: 'true', columns: `${FIELDS},stream` })}`);
    const streams = a.items.filter((q) => q.type === 'stream');
    clear(
      out,
      h('p', { class: 'pager-status' }, streams.length === 500 ? 'the first 500 streams' : `${streams.length} stream(s)`),
      table(
        [
          { title: 'Virtual host', value: (q) => q.vhost },
          { title: 'Name', value: (q) => h('a', { href: queueHref(q.vhost, q.name) }, q.name) },
          { title: 'Messages', value: (q) => fmtNum(st(q).messages), num: true },
          { title: 'Size', value: (q) => fmtBytes(st(q).bytes), num: true },
          { title: 'Segments', value: (q) => fmtNum(st(q).segments), num: true },
          { title: 'First offset', value: (q) => fmtNum(st(q).first_offset), num: true },
          { title: 'Last offset', value: (q) => fmtNum(st(q).last_offset), num: true },
          { title: 'Oldest message', value: (q) => st(q).first_timestamp ?? '' },
          { title: 'Incoming', value: (q) => rate(q, 'publish'), num: true },
          { title: 'Consumers', value: (q) => fmtNum(q.consumers), num: true },
          { title: 'Arguments', value: (q) => fmtJson(q.arguments) },
        ],
        streams,
        'streams',
      ),
    );
  }
  return { refresh };
}

function messageTable(items, unacked) {
  const cols = [
    { title: '#', value: (m) => String(m.position), num: true },
    { title: 'Exchange', value: (m) => m.exchange ?? '' },
    { title: 'Routing key', value: (m) => m.routing_key ?? '' },
    { title: 'Redelivered', value: (m) => (m.redelivered ? 'yes' : 'no') },
    { title: 'Deliveries', value: (m) => String(m.delivery_count ?? 0), num: true },
    { title: 'Properties', value: (m) => fmtJson(m.properties, 300) },
    { title: 'Payload', value: (m) => h('pre', { class: 'payload' }, `${m.payload}${m.payload_truncated ? ' …' : ''}`, h('span', { class: 'muted' }, ` (${m.payload_encoding}, ${fmtBytes(m.payload_bytes)})`)) },
  ];
  if (unacked) {
    cols.push({ title: 'Consumer', value: (m) => m.consumer_tag ?? '' }, { title: 'Channel', value: (m) => m.channel ?? '' }, { title: 'Age', value: (m) => (typeof m.age_ms === 'number' ? `${(m.age_ms / 1000).toFixed(1)} s` : ''), num: true });
  }
  return table(cols, items, 'messages');
}

export function queuePage(root, vhost, name) {
  const base = `/queues/${seg(vhost)}/${seg(name)}`;
  const info = h('div');
  const bindings = h('div');
  const consumers = h('div');
  const policy = h('div');
  const peekOut = h('div', { class: 'peek-result' });
  const getOut = h('div', { class: 'get-result' });

  const peek = form(
    'peek',
    [
      field('State', select('state', ['ready', 'unacked'], 'ready')),
      field('Offset', input('offset', { type: 'number', min: 0, value: '0' })),
      field('Limit', input('limit', { type: 'number', min: 1, max: 500, value: '20' })),
      field('Payload bytes', input('payload_bytes', { type: 'number', min: 0, max: 1048576, value: '4096' })),
    ],
    'Peek',
    async (v) => {
      await act('Peek', async () => {
        const r = await get(`${base}/messages${qs(v)}`);
        clear(peekOut, h('p', {}, `${fmtNum(r.total)} ${r.state} in all; showing from ${fmtNum(r.offset)}:`), messageTable(r.items, r.state === 'unacked'));
        return `Peeked ${r.items.length} of ${r.total} ${r.state} messages (nothing consumed)`;
      });
    },
  );

  const publish = form(
    'publish',
    [
      field('Payload', textarea('payload', { required: false })),
      field('Persistent', checkbox('persistent', true)),
      field('Headers (JSON)', textarea('headers', { placeholder: '{"x-tenant": "a"}' })),
      field('Properties (JSON)', textarea('properties', { placeholder: '{"content_type": "text/plain"}' })),
    ],
    'Publish',
    async (v) => {
      await act('Publish', async () => {
        const properties = parseJsonObject(v.properties, 'Properties');
        const headers = parseJsonObject(v.headers, 'Headers');
        if (Object.keys(headers).length > 0) properties.headers = headers;
        if (v.persistent) properties.delivery_mode = 2;
        const r = await api('POST', `/exchanges/${seg(vhost)}/amq.default/publish`, { routing_key: name, payload: v.payload, payload_encoding: 'string', properties });
        await refresh();
        return r && r.routed ? 'Message published' : 'Message published but not routed';
      });
    },
  );

  const getForm = form(
    'get',
    [
      field('Ack mode', select('ackmode', ['ack_requeue_true', 'ack_requeue_false', 'reject_requeue_true', 'reject_requeue_false'], 'ack_requeue_true')),
      field('Encoding', select('encoding', ['auto', 'base64'], 'auto')),
      field('Messages', input('count', { type: 'number', min: 1, max: 500, value: '1' })),
    ],
    'Get messages',
    async (v) => {
      await act('Get', async () => {
        const msgs = await api('POST', `${base}/get`, { count: Number(v.count), ackmode: v.ackmode, encoding: v.encoding, truncate: 50000 });
        clear(getOut, table([{ title: 'Routing key', value: (m) => m.routing_key }, { title: 'Redelivered', value: (m) => String(m.redelivered) }, { title: 'Properties', value: (m) => fmtJson(m.properties, 300) }, { title: 'Payload', value: (m) => h('pre', { class: 'payload' }, m.payload) }], msgs));
        await refresh();
        return `Got ${msgs.length} message(s)`;
      });
    },
  );

  const move = form(
    'move',
    [field('To queue', input('to', { required: true })), field('Limit', input('limit', { type: 'number', min: 1 })), field('Dry run', checkbox('dry_run', false))],
    'Move messages',
    async (v) => {
      await act('Move', async () => {
        const body = { to: v.to, dry_run: v.dry_run };
        if (v.limit !== '') body.limit = Number(v.limit);
        const r = await api('POST', `${base}/move`, body);
        await refresh();
        return `${r.dry_run ? 'Dry run: would move' : 'Moved'} ${r.moved} message(s) to ${v.to}`;
      });
    },
  );

  const reasons = ['rejected', 'expired', 'maxlen', 'delivery_limit'];
  const redrive = form(
    'redrive',
    [
      field('To queue (empty: each to its x-death queue)', input('to')),
      h('fieldset', {}, h('legend', {}, 'Reasons (none ticked: all)'), reasons.map((r) => h('label', { class: 'inline' }, checkbox(`reason_${r}`), r))),
      field('Min count', input('min_count', { type: 'number', min: 0 })),
      field('Max count', input('max_count', { type: 'number', min: 0 })),
      field('Limit', input('limit', { type: 'number', min: 1 })),
      field('Dry run', checkbox('dry_run', false)),
    ],
    'Redrive',
    async (v) => {
      await act('Redrive', async () => {
        const body = { dry_run: v.dry_run };
        if (v.to !== '') body.to = v.to;
        const picked = reasons.filter((r) => v[`reason_${r}`]);
        if (picked.length > 0) body.reasons = picked;
        for (const k of ['min_count', 'max_count', 'limit']) if (v[k] !== '') body[k] = Number(v[k]);
        const r = await api('POST', `${base}/redrive`, body);
        await refresh();
        const targets = Object.entries(r.by_target ?? {}).map(([q, n]) => `${q}: ${n}`).join(', ');
        return `${r.dry_run ? 'Dry run: would move' : 'Redrove'} ${r.moved} message(s), skipped ${r.skipped}${targets ? ` (${targets})` : ''}`;
      });
    },
  );

  const bind = form(
    'bind',
    [field('From exchange', input('source', { required: true })), field('Routing key', input('routing_key')), field('Arguments (JSON)', textarea('arguments'))],
    'Bind',
    async (v) => {
      await act('Bind', async () => {
        await api('POST', `/bindings/${seg(vhost)}/e/${seg(v.source)}/q/${seg(name)}`, { routing_key: v.routing_key, arguments: parseJsonObject(v.arguments, 'Arguments') });
        await refresh();
        return 'Bound';
      });
    },
  );

  const purge = h('button', { type: 'button', class: 'danger purge' }, 'Purge');
  purge.addEventListener('click', async () => {
    if (!confirm(`Purge every ready message of ${name}?`)) return;
    await act('Purge', async () => {
      await api('DELETE', `${base}/contents`);
      await refresh();
      return `Queue ${name} purged`;
    });
  });
  const del = h('button', { type: 'button', class: 'danger delete' }, 'Delete queue');
  del.addEventListener('click', async () => {
    if (!confirm(`Delete queue ${name}?`)) return;
    const ok = await act('Delete', async () => {
      await api('DELETE', base);
      return `Queue ${name} deleted`;
    });
    if (ok) location.hash = '#/queues';
  });

  root.append(
    h('h1', {}, 'Queue ', h('span', { class: 'name' }, name), h('span', { class: 'muted' }, ` in ${vhost}`)),
    info,
    h('div', { class: 'actions' }, purge, del),
    section('Consumers', consumers),
    section('Bindings', bindings, bind),
    section('Policy', policy),
    section('Peek (without consuming)', peek, peekOut),
    section('Publish a message', publish),
    section('Get messages', getForm, getOut),
    section('Move messages', move),
    section('Redrive dead letters', redrive),
  );

  async function refresh() {
    const q = await get(base);
    clear(
      info,
      h(
        'div',
        { class: 'totals' },
        [
          ['Type', q.type],
          ['Features', features(q) || '—'],
          ['Ready', fmtNum(q.messages_ready)],
          ['Unacked', fmtNum(q.messages_unacknowledged)],
          ['Total', fmtNum(q.messages)],
          ['Ready bytes', fmtBytes(q.message_bytes_ready)],
          ['Incoming', rate(q, 'publish')],
          ['Deliver / get', rate(q, 'deliver_get')],
          ['Ack', rate(q, 'ack')],
          ['Consumers', fmtNum(q.consumers)],
        ].map(([k, v]) => h('div', { class: 'stat' }, h('span', { class: 'k' }, k), h('span', { class: 'v', 'data-stat': k }, v))),
      ),
    );
    clear(
      consumers,
      table(
        [
          { title: 'Tag', value: (c) => c.consumer_tag },
          { title: 'Channel', value: (c) => c.channel_details?.name ?? '' },
          { title: 'Ack required', value: (c) => String(c.ack_required) },
          { title: 'Exclusive', value: (c) => String(c.exclusive) },
          { title: 'Prefetch', value: (c) => String(c.prefetch_count), num: true },
          { title: 'Arguments', value: (c) => fmtJson(c.arguments) },
        ],
        q.consumer_details ?? [],
      ),
    );
    clear(
      policy,
      table(
        [
          { title: 'Policy', value: () => q.policy ?? 'none' },
          { title: 'Operator policy', value: () => q.operator_policy ?? 'none' },
          { title: 'Effective definition', value: () => fmtJson(q.effective_policy_definition ?? {}, 1000) },
          { title: 'Arguments', value: () => fmtJson(q.arguments ?? {}, 1000) },
        ],
        [q],
      ),
    );
    const bs = await get(`${base}/bindings`);
    clear(
      bindings,
      table(
        [
          { title: 'From', value: (b) => (b.source === '' ? '(default exchange)' : b.source) },
          { title: 'Routing key', value: (b) => b.routing_key },
          { title: 'Arguments', value: (b) => fmtJson(b.arguments) },
          {
            title: '',
            value: (b) =>
              b.source === ''
                ? ''
                : h('button', {
                    type: 'button',
                    class: 'small',
                    onclick: async () => {
                      await act('Unbind', async () => {
                        await api('DELETE', `/bindings/${seg(vhost)}/e/${seg(b.source)}/q/${seg(name)}/${seg(b.properties_key)}`);
                        await refresh();
                        return 'Unbound';
                      });
                    },
                  }, 'Unbind'),
          },
        ],
        bs,
      ),
    );
  }
  return {
    refresh: () =>
      refresh().catch((e) => {
        if (e && e.status === 404) clear(info, h('p', { class: 'alarm' }, `Queue ${name} does not exist in ${vhost}.`));
        else notice(`Loading the queue failed: ${e.message}`, 'error');
      }),
  };
}
