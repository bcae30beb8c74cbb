// The console's one door to the management API: every request carries the basic-auth header
// kept in sessionStorage (as RabbitMQ's UI does) and X-Requested-With, so a 401 comes without
// a browser login dialog; errors become ApiError with RabbitMQ's reason text.

const KEY = 'warren.authorization';

export class ApiError extends Error {
  constructor(status, reason) {
    super(reason);
    this.status = status;
  }
}

/** "Basic base64(user:password)" with the credentials as UTF-8. */
export function basicAuth(user, password) {
  const bytes = new TextEncoder().encode(`${user}:${password}`);
  let bin = '';
  for (const b of bytes) bin += String.fromCharCode(b);
  return `Basic ${btoa(bin)}`;
}

export function loggedIn() {
  return sessionStorage.getItem(KEY) !== null;
}

export function logIn(authorization) {
  sessionStorage.setItem(KEY, authorization);
}

export function logOut() {
  sessionStorage.removeItem(KEY);
}

/** Checks credentials with /api/whoami; resolves with the user, throws ApiError otherwise. */
export async function tryLogin(user, password) {
  const authorization = basicAuth(user, password);
  const me = await request('GET', '/whoami', undefined, {}, authorization);
  logIn(authorization);
  return me;
}

let onUnauthorised = () => {};
export function whenUnauthorised(fn) {
  onUnauthorised = fn;
}

async function request(method, path, body, headers, authorization) {
  const h = { 'x-requested-with': 'XMLHttpRequest', ...headers };
  if (authorization) h['authorization'] = authorization;
  const init = { method, headers: h, credentials: 'omit', cache: 'no-store' };
  if (body !== undefined) {
    h['content-type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  const res = await fetch(`/api${path}`, init);
  const text = await res.text();
  let json = null;
  try {
    json = text === '' ? null : JSON.parse(text);
  } catch {
    json = null;
  }
  if (!res.ok) {
    const reason = json && typeof json.reason === 'string' ? json.reason : `HTTP ${res.status}`;
    throw new ApiError(res.status, reason);
  }
  return json;
}

/** A request to /api<path> as the logged-in user. */
export async function api(method, path, body, headers = {}) {
  const authorization = sessionStorage.getItem(KEY);
  try {
    return await request(method, path, body, headers, authorization);
  } catch (e) {
    // Only a failed login (not "not authorised for this object") ends the session.
    if (e instanceof ApiError && e.status === 401 && e.message === 'Login failed') {
      logOut();
      onUnauthorised();
    }
    throw e;
  }
}

export const get = (path) => api('GET', path);

/** One path segment, encoded (the default vhost "/" is %2F). */
export const seg = (s) => encodeURIComponent(s);

/** A query string from an object, leaving out undefined and empty values. */
export function qs(params) {
  const parts = [];
  for (const [k, v] of Object.entries(params)) {
    if (v === undefined || v === null || v === '') continue;
    parts.push(`${encodeURIComponent(k)}=${encodeURIComponent(String(v))}`);
  }
  return parts.length === 0 ? '' : `?${parts.join('&')}`;
}
