// Connections (close one with a reason, sent as RabbitMQ's X-Reason header) and channels.

import { api, seg } from './api.js';
import { act, fmtNum, fmtRate, h, input, pagedTable } from './ui.js';

export function connectionsPage(root) {
  const reason = input('reason', { value: 'Closed via the warren console', 'aria-label': 'Close reason', size: 40 });
  const list = pagedTable({
    path: '/connections',
    name: 'connections',
    sort: 'name',
    fields: 'name,user,vhost,state,ssl,protocol,channels,peer_host,peer_port,recv_oct_details,send_oct_details,client_properties',
    columns: [
      { title: 'Name', value: (c) => c.name, sort: 'name' },
      { title: 'User', value: (c) => c.user, sort: 'user' },
      { title: 'Virtual host', value: (c) => c.vhost, sort: 'vhost' },
      { title: 'Client', value: (c) => [c.client_properties?.connection_name, c.client_properties?.product, c.client_properties?.version].filter((v) => typeof v === 'string' && v !== '').join(' · ') },
      { title: 'State', value: (c) => c.state },
      { title: 'TLS', value: (c) => (c.ssl ? 'yes' : 'no') },
      { title: 'Channels', value: (c) => fmtNum(c.channels), sort: 'channels', num: true },
      { title: 'From client', value: (c) => `${fmtRate(c.recv_oct_details).replace('/s', ' B/s')}`, num: true },
      { title: 'To client', value: (c) => `${fmtRate(c.send_oct_details).replace('/s', ' B/s')}`, num: true },
      {
        title: '',
        value: (c) =>
          h('button', {
            type: 'button',
            class: 'small danger close-connection',
            onclick: async () => {
              if (!confirm(`Close ${c.name} with reason "${reason.value}"?`)) return;
              await act('Close connection', async () => {
                await api('DELETE', `/connections/${seg(c.name)}`, undefined, { 'x-reason': reason.value.slice(0, 255) });
                await list.refresh();
                return `Closed ${c.name}`;
              });
            },
          }, 'Close'),
      },
    ],
  });
  root.append(h('h1', {}, 'Connections'), h('div', { class: 'pager' }, h('label', { class: 'inline' }, 'Reason when closing: ', reason)), list.el);
  return { refresh: list.refresh };
}

export function channelsPage(root) {
  const list = pagedTable({
    path: '/channels',
    name: 'channels',
    sort: 'name',
    fields: 'name,user,vhost,state,consumer_count,messages_unacknowledged,prefetch_count,confirm,transactional,message_stats',
    columns: [
      { title: 'Channel', value: (c) => c.name, sort: 'name' },
      { title: 'User', value: (c) => c.user, sort: 'user' },
      { title: 'Virtual host', value: (c) => c.vhost, sort: 'vhost' },
      { title: 'Mode', value: (c) => [c.confirm ? 'C' : '', c.transactional ? 'T' : ''].filter(Boolean).join(' ') },
      { title: 'State', value: (c) => c.state },
      { title: 'Consumers', value: (c) => fmtNum(c.consumer_count), sort: 'consumer_count', num: true },
      { title: 'Unacked', value: (c) => fmtNum(c.messages_unacknowledged), sort: 'messages_unacknowledged', num: true },
      { title: 'Prefetch', value: (c) => fmtNum(c.prefetch_count), num: true },
      { title: 'Publish', value: (c) => fmtRate(c.message_stats?.publish_details), num: true },
      { title: 'Deliver / get', value: (c) => fmtRate(c.message_stats?.deliver_get_details), num: true },
      { title: 'Ack', value: (c) => fmtRate(c.message_stats?.ack_details), num: true },
    ],
  });
  root.append(h('h1', {}, 'Channels'), list.el);
  return { refresh: list.refresh };
}
