// Who may use the management HTTP API, as RabbitMQ decides it: HTTP basic auth against the
// broker's users, the loopback rule for users like `guest`, and user tags: any of management,
// policymaker, monitoring or administrator lets a user in; monitoring and administrator see
// every vhost and connection; administrator alone manages users, vhosts, permissions and
// definitions. Operations on queues and exchanges also need the user's AMQP permissions.

import type { Broker } from '../broker.js';
import { isLoopback } from '../broker.js';
import { HttpError, notAuthorised } from './http-error.js';

export interface ApiUser {
  readonly name: string;
  readonly tags: readonly string[];
}

const MANAGEMENT_TAGS = new Set(['management', 'policymaker', 'monitoring', 'administrator']);

export const WWW_AUTHENTICATE = 'Basic realm="RabbitMQ Management"';

function loginFailed(): HttpError {
  return new HttpError(401, 'not_authorized', 'Login failed');
}

/** "Basic base64(user:password)" -> [user, password]; null when absent or malformed. */
export function parseBasicAuth(header: string | undefined): [string, string] | null {
  if (header === undefined) return null;
  const m = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header);
  if (!m) return null;
  const decoded = Buffer.from(m[1]!, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) return null;
  return [decoded.slice(0, colon), decoded.slice(colon + 1)];
}

/** The API user for a request, or a 401 as RabbitMQ words it. */
export function authenticate(broker: Broker, header: string | undefined, remoteAddress: string): ApiUser {
  const creds = parseBasicAuth(header);
  if (creds === null) throw loginFailed();
  const [name, password] = creds;
  if (!broker.access.checkPassword(name, password)) throw loginFailed();
  if (broker.access.loopbackUsers.has(name) && !isLoopback(remoteAddress)) throw notAuthorised('User can only log in via localhost');
  const tags = broker.access.user(name)?.tags ?? [];
  if (!tags.some((t) => MANAGEMENT_TAGS.has(t))) throw notAuthorised('Not management user');
  return { name, tags };
}

export function isAdministrator(u: ApiUser): boolean {
  return u.tags.includes('administrator');
}

/** Monitoring and administrator users see every vhost and every connection. */
export function seesEverything(u: ApiUser): boolean {
  return u.tags.includes('administrator') || u.tags.includes('monitoring');
}

export function requireAdministrator(u: ApiUser): void {
  if (!isAdministrator(u)) throw notAuthorised('Not administrator user');
}

/** Whether the user may look at a vhost's objects. */
export function mayView(broker: Broker, u: ApiUser, vhost: string): boolean {
  return seesEverything(u) || broker.access.canAccessVhost(u.name, vhost);
}

/** Operations in a vhost need the user to have permissions there (as an AMQP login would). */
export function requireVhostAccess(broker: Broker, u: ApiUser, vhost: string): void {
  if (!broker.access.canAccessVhost(u.name, vhost)) throw notAuthorised('User not authorised to access virtual host');
}
