// The permission check every AMQP operation of a connection goes through.

import type { PermissionKind } from '../auth/access.js';
import { ChannelError } from '../errors.js';

/** What the check asks of the broker (ConnectionContext has it). */
export interface PermissionSource {
  permits(user: string, vhost: string, kind: PermissionKind, name: string): boolean;
}

/** 403 unless `user` may do `kind` on the resource; the default exchange is 'amq.default' to permissions, as in RabbitMQ. */
export function checkPermission(ctx: PermissionSource, user: string, vhost: string, kind: PermissionKind, resource: 'queue' | 'exchange', name: string): void {
  const n = resource === 'exchange' && name === '' ? 'amq.default' : name;
  if (!ctx.permits(user, vhost, kind, n)) {
    throw new ChannelError('ACCESS_REFUSED', `access to ${resource} '${n}' in vhost '${vhost}' refused for user '${user}'`);
  }
}
