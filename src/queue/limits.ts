// A queue's length limits (x-max-length in messages, x-max-length-bytes in body bytes): whether
// a message fits, and whether the queue is over them (x-overflow drop-head then drops its
// oldest messages; reject-publish and reject-publish-dlx refuse the newcomer instead).

import type { QueueSettings } from './arguments.js';

export function hasLengthLimit(s: QueueSettings): boolean {
  return s.maxLength !== null || s.maxLengthBytes !== null;
}

/** A queue of `length` messages and `bytes` body bytes has no room for one of `incoming` bytes. */
export function isFull(s: QueueSettings, length: number, bytes: number, incoming: number): boolean {
  return (s.maxLength !== null && length >= s.maxLength) || (s.maxLengthBytes !== null && bytes + incoming > s.maxLengthBytes);
}

export function isOverLimit(s: QueueSettings, length: number, bytes: number): boolean {
  return (s.maxLength !== null && length > s.maxLength) || (s.maxLengthBytes !== null && bytes > s.maxLengthBytes);
}
