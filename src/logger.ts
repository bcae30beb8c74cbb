// The pino root logger. Modules take a logger from their owner (broker -> connection -> channel)
// as a child bound to their ids, so every line says which connection and channel it is about.
// Lines are JSON, or (format 'pretty', for a person at a terminal) log-pretty.ts's readable form.

import { pino, type Logger, type LevelWithSilent } from 'pino';
import { formatLogLine, type LogFormat } from './log-pretty.js';

export type { Logger };

export interface LogOutput {
  readonly format?: LogFormat;
  /** ANSI colours in pretty lines. */
  readonly colour?: boolean;
}

export function createLogger(level: LevelWithSilent = 'info', destination?: NodeJS.WritableStream, output: LogOutput = {}): Logger {
  const options = { level, base: { pid: process.pid }, timestamp: pino.stdTimeFunctions.isoTime };
  if (output.format === 'pretty') {
    // Written synchronously, as pino's own stdout destination: a fatal line must be out before exit.
    const sink: { write(s: string): unknown } = destination ?? pino.destination({ dest: 1, sync: true });
    const colour = output.colour ?? false;
    return pino(options, { write: (line: string) => void sink.write(formatLogLine(line, colour)) });
  }
  return destination ? pino(options, destination as pino.DestinationStream) : pino(options);
}

export const silentLogger: Logger = pino({ level: 'silent' });
