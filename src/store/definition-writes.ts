// How changes to durable definitions (exchanges, bindings, users, vhosts, permissions,
// limits, policies, stream reader offsets) become queued writes (ops.ts) of a batching store.
// BatchedStore extends this and queues them with its messages; queues themselves stay with
// BatchedStore, which gives them their ids.

import { bindingRecordKey } from './memory-store.js';
import type {
  BindingRecord,
  ExchangeRecord,
  LimitsRecord,
  PermissionRecord,
  PolicyKind,
  PolicyRecord,
  ReaderOffsetRecord,
  UserRecord,
  VhostRecord,
} from './store.js';
import {
  OP_BINDING_DEL,
  OP_BINDING_PUT,
  OP_EXCHANGE_DEL,
  OP_EXCHANGE_PUT,
  OP_LIMITS_PUT,
  OP_PERMISSION_DEL,
  OP_PERMISSION_PUT,
  OP_POLICY_PUT,
  OP_READER_DEL,
  OP_READER_PUT,
  OP_USER_DEL,
  OP_USER_PUT,
  OP_VHOST_DEL,
  OP_VHOST_PUT,
} from './batch.js';
import type { Op } from './ops.js';

export abstract class DefinitionWrites {
  /** Queues one write for the next batch. */
  protected abstract pushOp(op: Op): void;

  saveExchange(r: ExchangeRecord): void {
    this.pushOp({ k: OP_EXCHANGE_PUT, r });
  }

  deleteExchange(vhost: string, name: string): void {
    this.pushOp({ k: OP_EXCHANGE_DEL, vhost, name });
  }

  saveBinding(r: BindingRecord): void {
    this.pushOp({ k: OP_BINDING_PUT, r });
  }

  deleteBinding(r: BindingRecord): void {
    this.pushOp({ k: OP_BINDING_DEL, key: bindingRecordKey(r) });
  }

  saveUser(r: UserRecord): void {
    this.pushOp({ k: OP_USER_PUT, r });
  }

  deleteUser(name: string): void {
    this.pushOp({ k: OP_USER_DEL, name });
  }

  saveVhost(r: VhostRecord): void {
    this.pushOp({ k: OP_VHOST_PUT, r });
  }

  deleteVhost(name: string): void {
    this.pushOp({ k: OP_VHOST_DEL, name });
  }

  savePermission(r: PermissionRecord): void {
    this.pushOp({ k: OP_PERMISSION_PUT, r });
  }

  deletePermission(user: string, vhost: string): void {
    this.pushOp({ k: OP_PERMISSION_DEL, user, vhost });
  }

  saveLimits(r: LimitsRecord): void {
    this.pushOp({ k: OP_LIMITS_PUT, r });
  }

  savePolicy(r: PolicyRecord): void {
    this.pushOp({ k: OP_POLICY_PUT, kind: r.kind, vhost: r.vhost, name: r.name, r });
  }

  deletePolicy(kind: PolicyKind, vhost: string, name: string): void {
    this.pushOp({ k: OP_POLICY_PUT, kind, vhost, name, r: null });
  }

  saveReaderOffset(r: ReaderOffsetRecord): void {
    this.pushOp({ k: OP_READER_PUT, r });
  }

  deleteReaderOffset(vhost: string, stream: string, reader: string): void {
    this.pushOp({ k: OP_READER_DEL, vhost, stream, reader });
  }
}
