// The one error the codec throws: malformed bytes. It names the AMQP reply code the peer deserves
// (FRAME_ERROR for framing, SYNTAX_ERROR for fields) so the connection can close with it; the codec
// itself knows nothing of connections.

export type CodecErrorCode = 'FRAME_ERROR' | 'SYNTAX_ERROR' | 'COMMAND_INVALID' | 'UNKNOWN_METHOD';

export class CodecError extends Error {
  readonly code: CodecErrorCode;
  constructor(code: CodecErrorCode, message: string) {
    super(message);
    this.name = 'CodecError';
    this.code = code;
  }
}
