// Overview page: queued messages and message rates over the last ten minutes (the API's
// samples, drawn as SVG lines), totals, alarms, listeners and the node.

import { get } from './api.js';
import { depthsFrom, lineChart, ratesFrom } from './chart.js';
import { clear, fmtBytes, fmtDuration, fmtNum, fmtRate, h, section, table } from './ui.js';

const WINDOW = 'lengths_age=600&lengths_incr=5&msg_rates_age=600&msg_rates_incr=5';

export function overviewPage(root) {
  const charts = h('div', { class: 'charts' });
  const totals = h('div', { class: 'totals' });
  const alarms = h('div');
  const listeners = h('div');
  const node = h('div');
  root.append(h('h1', {}, 'Overview'), totals, charts, section('Alarms', alarms), section('Listeners', listeners), section('Node', node));

  async function refresh() {
    const o = await get(`/overview?${WINDOW}`);
    const qt = o.queue_totals ?? {};
    const ms = o.message_stats ?? {};
    const ot = o.object_totals ?? {};
    clear(
      totals,
      [
        ['Ready', fmtNum(qt.messages_ready)],
        ['Unacked', fmtNum(qt.messages_unacknowledged)],
        ['Total', fmtNum(qt.messages)],
        ['Publish', fmtRate(ms.publish_details)],
        ['Deliver / get', fmtRate(ms.deliver_get_details)],
        ['Ack', fmtRate(ms.ack_details)],
        ['Connections', fmtNum(ot.connections)],
        ['Channels', fmtNum(ot.channels)],
        ['Queues', fmtNum(ot.queues)],
        ['Consumers', fmtNum(ot.consumers)],
      ].map(([k, v]) => h('div', { class: 'stat' }, h('span', { class: 'k' }, k), h('span', { class: 'v' }, v))),
    );
    const s = (d) => (d && Array.isArray(d.samples) ? d.samples : []);
    clear(
      charts,
      lineChart('Queued messages', [
        { label: 'Ready', cls: 's1', points: depthsFrom(s(qt.messages_ready_details)) },
        { label: 'Unacked', cls: 's2', points: depthsFrom(s(qt.messages_unacknowledged_details)) },
        { label: 'Total', cls: 's3', points: depthsFrom(s(qt.messages_details)) },
      ]),
      lineChart(
        'Message rates',
        [
          { label: 'Publish', cls: 's1', points: ratesFrom(s(ms.publish_details)) },
          { label: 'Deliver / get', cls: 's2', points: ratesFrom(s(ms.deliver_get_details)) },
          { label: 'Ack', cls: 's3', points: ratesFrom(s(ms.ack_details)) },
        ],
        '/s',
      ),
    );
    clear(listeners, table([{ title: 'Protocol', value: (l) => l.protocol }, { title: 'Bound to', value: (l) => l.ip_address }, { title: 'Port', value: (l) => String(l.port), num: true }], o.listeners ?? []));
    let n = null;
    try {
      const nodes = await get('/nodes');
      n = nodes[0] ?? null;
    } catch {
      n = null; // not a monitoring user: the node's figures are not theirs to see
    }
    const active = n === null ? [] : [n.mem_alarm ? 'memory' : null, n.disk_free_alarm ? 'disk' : null].filter(Boolean);
    clear(alarms, n === null ? h('p', { class: 'muted' }, 'Visible to monitoring users.') : active.length === 0 ? h('p', { class: 'ok-text' }, 'No alarms in effect.') : active.map((a) => h('p', { class: 'alarm' }, `${a} alarm: publishers are blocked`)));
    clear(
      node,
      table(
        [
          { title: 'Name', value: () => o.node },
          { title: 'warren', value: () => o.product_version },
          { title: 'API as RabbitMQ', value: () => o.rabbitmq_version },
          { title: 'Node.js', value: () => o.node_version },
          { title: 'Uptime', value: () => (n ? fmtDuration(n.uptime) : '') },
          { title: 'Memory', value: () => (n ? `${fmtBytes(n.mem_used)} of ${fmtBytes(n.mem_limit)}` : '') },
          { title: 'Disk free', value: () => (n && typeof n.disk_free === 'number' ? `${fmtBytes(n.disk_free)} (limit ${fmtBytes(n.disk_free_limit)})` : '') },
          { title: 'Cores', value: () => (n ? String(n.processors) : '') },
        ],
        [o],
      ),
    );
  }
  return { refresh };
}
