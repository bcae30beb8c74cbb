// Bounds on what `warren migrate` accepts from RabbitMQ's HTTP API.

/** Largest definitions document read from RabbitMQ (--max-definitions-bytes). */
export const MAX_DEFINITIONS_BYTES = 64 * 1024 * 1024;
/** Most objects (users, vhosts, queues, bindings, ...) taken from one document. */
export const MAX_DEFINITION_OBJECTS = 1_000_000;
