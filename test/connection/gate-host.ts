// A fake connection around an InputGate for the flow-control tests: `paused` shows whether it
// reads, and a flow source letting go resumes it through the gate, as Connection does.

import pino from 'pino';
import { InputGate, type InputGateHost } from '../../src/connection/input-gate.js';
import type { FlowSource } from '../../src/queue/queue.js';

export function gate(): { g: InputGate; host: InputGateHost & { paused: boolean } } {
  const host = {
    paused: false,
    log: pino({ level: 'silent' }),
    isOpen: () => true,
    sendBlocked: () => undefined,
    pauseInput(): void {
      this.paused = true;
    },
    resumeInput(): void {
      this.paused = false;
    },
    consumesFrom: () => false,
    resumeFlow: (s: FlowSource) => g.resumeFlow(s),
  };
  const g = new InputGate(host);
  return { g, host };
}
