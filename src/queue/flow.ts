// Flow control's two sides, apart from the queue: what a paused publisher waits on (a queue
// backing up, or the store's unwritten bytes, connection/store-flow.ts) and the publisher
// itself, resumed when its source lets go (connection/input-gate.ts).

/** A publisher paused because a queue it feeds is backing up (see Queue.congested). */
export interface FlowWaiter {
  resumeFlow(source: FlowSource): void;
}

/** What a paused publisher waits on: a queue, or the store's unwritten bytes (connection/store-flow.ts). */
export interface FlowSource {
  readonly name: string;
  addFlowWaiter(w: FlowWaiter): void;
  removeFlowWaiter(w: FlowWaiter): void;
}
