// Users, virtual hosts, permissions and policies (administrator pages; a user without the
// tag sees the API's refusal in place of the list).

import { api, get, seg } from './api.js';
import { act, clear, errorText, field, fmtJson, fmtNum, form, h, input, pagedTable, parseJsonObject, section, select, table, textarea } from './ui.js';

const delButton = (label, what, path, after) =>
  h('button', {
    type: 'button',
    class: 'small danger',
    onclick: async () => {
      if (!confirm(`${label}?`)) return;
      await act(label, async () => {
        await api('DELETE', path);
        await after();
        return `${what} deleted`;
      });
    },
  }, 'Delete');

export function usersPage(root) {
  const list = pagedTable({
    path: '/users',
    name: 'users',
    sort: 'name',
    columns: [
      { title: 'Name', value: (u) => u.name, sort: 'name' },
      { title: 'Tags', value: (u) => (Array.isArray(u.tags) ? u.tags.join(', ') : String(u.tags ?? '')) },
      { title: '', value: (u) => delButton(`Delete user ${u.name}`, `User ${u.name}`, `/users/${seg(u.name)}`, () => list.refresh()) },
    ],
  });
  const add = form(
    'add-user',
    [field('Name', input('name', { required: true })), field('Password', input('password', { type: 'password', autocomplete: 'new-password' })), field('Tags (comma separated)', input('tags', { placeholder: 'administrator' }))],
    'Add / update user',
    async (v) => {
      if (await act(`User ${v.name}`, () => api('PUT', `/users/${seg(v.name)}`, { password: v.password, tags: v.tags }).then(() => `User ${v.name} saved`))) await list.refresh();
    },
  );
  root.append(h('h1', {}, 'Users'), list.el, section('Add or update a user', add));
  return { refresh: list.refresh };
}

export function vhostsPage(root) {
  const list = pagedTable({
    path: '/vhosts',
    name: 'vhosts',
    sort: 'name',
    columns: [
      { title: 'Name', value: (v) => v.name, sort: 'name' },
      { title: 'Description', value: (v) => v.description ?? '' },
      { title: 'Ready', value: (v) => fmtNum(v.messages_ready), num: true },
      { title: 'Unacked', value: (v) => fmtNum(v.messages_unacknowledged), num: true },
      { title: 'Total', value: (v) => fmtNum(v.messages), num: true },
      { title: '', value: (v) => delButton(`Delete virtual host ${v.name}`, `Virtual host ${v.name}`, `/vhosts/${seg(v.name)}`, () => list.refresh()) },
    ],
  });
  const add = form('add-vhost', [field('Name', input('name', { required: true })), field('Description', input('description'))], 'Add virtual host', async (v) => {
    if (await act(`Virtual host ${v.name}`, () => api('PUT', `/vhosts/${seg(v.name)}`, { description: v.description }).then(() => `Virtual host ${v.name} added`))) await list.refresh();
  });
  root.append(h('h1', {}, 'Virtual hosts'), list.el, section('Add a virtual host', add));
  return { refresh: list.refresh };
}

export function permissionsPage(root) {
  const list = pagedTable({
    path: '/permissions',
    name: 'permissions',
    sort: 'user',
    columns: [
      { title: 'User', value: (p) => p.user, sort: 'user' },
      { title: 'Virtual host', value: (p) => p.vhost, sort: 'vhost' },
      { title: 'Configure', value: (p) => p.configure },
      { title: 'Write', value: (p) => p.write },
      { title: 'Read', value: (p) => p.read },
      { title: '', value: (p) => delButton(`Clear ${p.user}'s permissions in ${p.vhost}`, 'Permissions', `/permissions/${seg(p.vhost)}/${seg(p.user)}`, () => list.refresh()) },
    ],
  });
  const set = form(
    'set-permission',
    [field('User', input('user', { required: true })), field('Virtual host', input('vhost', { value: '/', required: true })), field('Configure', input('configure', { value: '.*' })), field('Write', input('write', { value: '.*' })), field('Read', input('read', { value: '.*' }))],
    'Set permissions',
    async (v) => {
      if (await act('Set permissions', () => api('PUT', `/permissions/${seg(v.vhost)}/${seg(v.user)}`, { configure: v.configure, write: v.write, read: v.read }).then(() => `Permissions of ${v.user} in ${v.vhost} set`))) await list.refresh();
    },
  );
  root.append(h('h1', {}, 'Permissions'), list.el, section('Set permissions', set));
  return { refresh: list.refresh };
}

function policyBlock(kind, title) {
  const out = h('div');
  async function refresh() {
    let items;
    try {
      const a = await get(`/${kind}`);
      items = Array.isArray(a) ? a : a.items;
    } catch (e) {
      clear(out, h('p', { class: 'muted' }, errorText(e)));
      return;
    }
    clear(
      out,
      table(
        [
          { title: 'Virtual host', value: (p) => p.vhost },
          { title: 'Name', value: (p) => p.name },
          { title: 'Pattern', value: (p) => p.pattern },
          { title: 'Apply to', value: (p) => p['apply-to'] },
          { title: 'Priority', value: (p) => String(p.priority), num: true },
          { title: 'Definition', value: (p) => fmtJson(p.definition, 500) },
          { title: '', value: (p) => delButton(`Clear ${title.toLowerCase()} ${p.name}`, `${title} ${p.name}`, `/${kind}/${seg(p.vhost)}/${seg(p.name)}`, refresh) },
        ],
        items,
        kind,
      ),
    );
  }
  const set = form(
    `set-${kind}`,
    [
      field('Virtual host', input('vhost', { value: '/', required: true })),
      field('Name', input('name', { required: true })),
      field('Pattern', input('pattern', { value: '.*', required: true })),
      field('Apply to', select('apply-to', ['queues', 'exchanges', 'all'], 'queues')),
      field('Priority', input('priority', { type: 'number', value: '0' })),
      field('Definition (JSON)', textarea('definition', { placeholder: '{"max-length": 1000}', required: true })),
    ],
    `Set ${title.toLowerCase()}`,
    async (v) => {
      const ok = await act(`${title} ${v.name}`, async () => {
        await api('PUT', `/${kind}/${seg(v.vhost)}/${seg(v.name)}`, { pattern: v.pattern, 'apply-to': v['apply-to'], priority: Number(v.priority || 0), definition: parseJsonObject(v.definition, 'Definition') });
        return `${title} ${v.name} set`;
      });
      if (ok) await refresh();
    },
  );
  return { el: [section(`${title}s`, out), section(`Set a ${title.toLowerCase()}`, set)], refresh };
}

export function policiesPage(root) {
  const user = policyBlock('policies', 'Policy');
  const op = policyBlock('operator-policies', 'Operator policy');
  root.append(h('h1', {}, 'Policies'), ...user.el, ...op.el);
  return { refresh: () => Promise.all([user.refresh(), op.refresh()]) };
}

