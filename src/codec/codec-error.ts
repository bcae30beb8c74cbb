// The one error the codec throws: malformed bytes. Its code says how a peer that sent them is
// treated, following RabbitMQ: FRAME_ERROR (connection.close 501), or UNKNOWN_METHOD and
// UNKNOWN_FIELD_TYPE (RabbitMQ's parser gives up and drops the socket). SYNTAX_ERROR marks a
// field that does not decode; frame-level code turns it into "cannot decode". The codec itself
// knows nothing of connections.

export type CodecErrorCode = 'FRAME_ERROR' | 'SYNTAX_ERROR' | 'UNKNOWN_METHOD' | 'UNKNOWN_FIELD_TYPE';

export class CodecError extends Error {
  readonly code: CodecErrorCode;
  /** The method being decoded, (classId << 16) | methodId, when known. */
  readonly methodId: number;

  constructor(code: CodecErrorCode, message: string, methodId = 0) {
    super(message);
    this.name = 'CodecError';
    this.code = code;
    this.methodId = methodId;
  }
}
