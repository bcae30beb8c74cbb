// Small DOM helpers for the console: element building (text only — data never becomes HTML),
// number formatting, notices, forms, and the list table that pages, sorts and filters on the
// server (the API's page / page_size / sort / name parameters) so 100k rows never reach the page.

import { ApiError, get, qs } from './api.js';

/** An element; attributes starting with "on" are listeners; children are nodes or text. */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else if (k === 'class') el.className = v;
    else if (k === 'value') el.value = v;
    else if (k === 'checked') el.checked = Boolean(v);
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children.flat(Infinity)) {
    if (c === undefined || c === null || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

export function clear(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

export function fmtNum(n) {
  if (typeof n !== 'number') return '';
  return n.toLocaleString('en-US');
}

export function fmtRate(d) {
  const r = d && typeof d.rate === 'number' ? d.rate : 0;
  return `${r.toLocaleString('en-US', { maximumFractionDigits: 1 })}/s`;
}

export function fmtBytes(n) {
  if (typeof n !== 'number') return '';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) {
    n /= 1024;
    i++;
  }
  return `${n.toLocaleString('en-US', { maximumFractionDigits: i === 0 ? 0 : 1 })} ${units[i]}`;
}

export function fmtDuration(ms) {
  const s = Math.floor(ms / 1000);
  const d = Math.floor(s / 86400);
  const hh = Math.floor((s % 86400) / 3600);
  const mm = Math.floor((s % 3600) / 60);
  return d > 0 ? `${d}d ${hh}h` : hh > 0 ? `${hh}h ${mm}m` : `${mm}m ${s % 60}s`;
}

/** A short JSON rendering of arguments / definitions (bounded). */
export function fmtJson(v, max = 200) {
  if (v === undefined || v === null) return '';
  const s = JSON.stringify(v);
  return s.length > max ? `${s.slice(0, max)}…` : s;
}

/** A message at the top of the page (errors stay until the next action). */
export function notice(text, kind = 'ok') {
  const box = document.getElementById('notice');
  if (!box) return;
  clear(box, h('div', { class: `notice ${kind}`, role: kind === 'error' ? 'alert' : 'status' }, text));
}

export function errorText(e) {
  return e instanceof ApiError ? `${e.status}: ${e.message}` : String(e && e.message ? e.message : e);
}

/** Runs an action from a button or form, reporting success or the API's reason. */
export async function act(what, fn) {
  try {
    const out = await fn();
    notice(typeof out === 'string' ? out : `${what}: done`);
    return true;
  } catch (e) {
    notice(`${what} failed: ${errorText(e)}`, 'error');
    return false;
  }
}

export function section(title, ...children) {
  return h('section', { class: 'panel' }, h('h2', {}, title), ...children);
}

/** A label with an input/select inside. */
export function field(label, input) {
  return h('label', { class: 'field' }, h('span', {}, label), input);
}

export function input(name, attrs = {}) {
  return h('input', { name, maxlength: 4096, ...attrs });
}

export function textarea(name, attrs = {}) {
  return h('textarea', { name, rows: 3, maxlength: 1048576, ...attrs });
}

export function select(name, options, value) {
  return h('select', { name }, options.map((o) => h('option', { value: o, selected: o === value }, o)));
}

export function checkbox(name, checked = false) {
  return h('input', { type: 'checkbox', name, checked });
}

/** A form whose submit calls `onSubmit(values)` (values read by name: checkboxes as booleans). */
export function form(cls, fields, submitLabel, onSubmit) {
  const f = h('form', { class: `form ${cls}` }, fields, h('button', { type: 'submit' }, submitLabel));
  f.addEventListener('submit', (ev) => {
    ev.preventDefault();
    const values = {};
    for (const el of f.elements) {
      if (!el.name) continue;
      if (el.type === 'checkbox') values[el.name] = el.checked;
      else values[el.name] = el.value;
    }
    void onSubmit(values, f);
  });
  return f;
}

/** Parses a JSON object from a form field ('' is {}); throws with a readable message. */
export function parseJsonObject(text, what) {
  if (text.trim() === '') return {};
  let v;
  try {
    v = JSON.parse(text);
  } catch (e) {
    throw new Error(`${what} is not valid JSON: ${e.message}`);
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new Error(`${what} must be a JSON object`);
  return v;
}

/** Plain table from rows; columns: {title, value(row) -> node|text, num?}. */
export function table(columns, rows, cls = '') {
  return h(
    'table',
    { class: `grid ${cls}` },
    h('thead', {}, h('tr', {}, columns.map((c) => h('th', { class: c.num ? 'num' : '' }, c.title)))),
    h('tbody', {}, rows.length === 0 ? h('tr', {}, h('td', { colspan: columns.length, class: 'empty' }, 'none')) : rows.map((r) => h('tr', {}, columns.map((c) => h('td', { class: c.num ? 'num' : '' }, c.value(r)))))),
  );
}

export const PAGE_SIZES = ['20', '50', '100', '500'];

/**
 * A list from a paginated API endpoint: filter (name, regex), sort by a column (server side),
 * page and page size. columns: {title, value(row), sort?: API sort key, num?}. `columns` (the
 * API fields) keeps answers small. `keep(row)` filters the page client-side (streams).
 */
export function pagedTable({ path, columns, fields, sort = '', reverse = false, name = 'list', keep }) {
  const state = { page: 1, size: 20, sort, reverse, filter: '', regex: false };
  const body = h('div', { class: 'paged' });
  const status = h('span', { class: 'pager-status' });
  const filter = h('input', { type: 'search', placeholder: 'Filter by name', 'aria-label': `Filter ${name}`, maxlength: 256, name: 'filter' });
  const regex = h('input', { type: 'checkbox', 'aria-label': 'Regex' });
  const size = select('page_size', PAGE_SIZES, '20');
  const prev = h('button', { type: 'button', class: 'prev' }, '‹ Prev');
  const next = h('button', { type: 'button', class: 'next' }, 'Next ›');
  let timer = 0;
  filter.addEventListener('input', () => {
    clearTimeout(timer);
    timer = setTimeout(() => {
      state.filter = filter.value;
      state.page = 1;
      void refresh();
    }, 250);
  });
  regex.addEventListener('change', () => {
    state.regex = regex.checked;
    state.page = 1;
    void refresh();
  });
  size.addEventListener('change', () => {
    state.size = Number(size.value);
    state.page = 1;
    void refresh();
  });
  prev.addEventListener('click', () => {
    if (state.page > 1) state.page--;
    void refresh();
  });
  next.addEventListener('click', () => {
    state.page++;
    void refresh();
  });

  let pageCount = 1;
  async function refresh() {
    let answer;
    try {
      answer = await get(`${path}${qs({ page: state.page, page_size: state.size, sort: state.sort, sort_reverse: state.reverse ? 'true' : '', name: state.filter, use_regex: state.regex ? 'true' : '', columns: fields })}`);
    } catch (e) {
      // A filter that matches nothing past page 1, or a bad regex: say so, keep the table.
      if (state.page > 1 && /past the last page/.test(errorText(e))) {
        state.page = 1;
        return refresh();
      }
      clear(status, errorText(e));
      return;
    }
    const items = Array.isArray(answer) ? answer : answer.items;
    pageCount = Array.isArray(answer) ? 1 : answer.page_count;
    const rows = keep ? items.filter(keep) : items;
    const heads = columns.map((c) => {
      if (!c.sort) return h('th', { class: c.num ? 'num' : '' }, c.title);
      const active = state.sort === c.sort;
      const th = h('th', { class: `${c.num ? 'num ' : ''}sortable${active ? ' sorted' : ''}`, 'aria-sort': active ? (state.reverse ? 'descending' : 'ascending') : 'none' }, c.title, active ? (state.reverse ? ' ▼' : ' ▲') : '');
      th.addEventListener('click', () => {
        if (state.sort === c.sort) state.reverse = !state.reverse;
        else {
          state.sort = c.sort;
          state.reverse = Boolean(c.num);
        }
        state.page = 1;
        void refresh();
      });
      return th;
    });
    clear(
      body,
      h(
        'table',
        { class: 'grid', 'data-list': name },
        h('thead', {}, h('tr', {}, heads)),
        h('tbody', {}, rows.length === 0 ? h('tr', {}, h('td', { colspan: columns.length, class: 'empty' }, 'none')) : rows.map((r) => h('tr', {}, columns.map((c) => h('td', { class: c.num ? 'num' : '' }, c.value(r)))))),
      ),
    );
    prev.disabled = state.page <= 1;
    next.disabled = state.page >= pageCount;
    const total = Array.isArray(answer) ? items.length : answer.total_count;
    const filtered = Array.isArray(answer) ? items.length : answer.filtered_count;
    clear(status, `page ${state.page} of ${pageCount} · ${fmtNum(filtered)} matching of ${fmtNum(total)}`);
  }

  const el = h('div', { class: 'list' }, h('div', { class: 'pager' }, filter, h('label', { class: 'inline' }, regex, 'regex'), h('label', { class: 'inline' }, 'per page ', size), prev, next, status), body);
  return { el, refresh };
}
