// Liveness of one connection: the handshake deadline (counted in the broker's one-second ticks),
// and heartbeats timed as RabbitMQ 3.10 times them (measured on both with a raw socket): from
// connection.open, every heartbeat/2 s we send a heartbeat frame if we sent nothing else since
// the last look (the first time regardless, as RabbitMQ does), and every heartbeat s we look
// whether the client sent anything; the second look in a row that finds nothing gives up on it
// (so a silent client is dropped 2 to 3 intervals after its last byte; the first look always
// counts as traffic, as RabbitMQ's does). Two timers per connection, none per message.
// A pause of ours (flow, an alarm) excuses silence, as RabbitMQ pauses its monitor then; a pause
// because the client does not take its output does not, unless it took some of it since the last
// look: a client that neither reads nor sends is given up on as a silent one, and its buffer freed.

/** How long a client may take from TCP connect to tune-ok (RabbitMQ: 10 s). */
export const HANDSHAKE_TIMEOUT_S = 10;

export interface LivenessActions {
  /** A heartbeat frame is due. */
  sendHeartbeat(): void;
  /** The client missed two looks in a row. */
  peerSilent(): void;
  /** Reading is paused by us (flow, alarm, full output): the client's silence proves nothing. */
  paused(): boolean;
  /** While reading is paused because the client does not take its output: bytes of our output it has taken so far; otherwise -1. */
  outputTaken(): number;
}

export class Liveness {
  /** Negotiated heartbeat in seconds; 0 means none. */
  heartbeat = 0;
  /** Set by the connection whenever bytes arrive (hot path: a plain field). */
  readSinceCheck = false;
  #wroteSinceCheck = false;
  #heartbeatQueued = false;
  /** RabbitMQ's first heartbeat goes out whatever was written before it (open-ok, a channel's open-ok). */
  #firstCheck = false;
  #missed = 0;
  /** outputTaken() at the last look. */
  #taken = -1;
  #ageSeconds = 0;
  #timers: NodeJS.Timeout[] = [];

  /** Called when `bytes` are written; our own heartbeat frame (8 bytes) does not count as traffic. */
  wrote(bytes: number): void {
    if (bytes > (this.#heartbeatQueued ? 8 : 0)) this.#wroteSinceCheck = true;
    this.#heartbeatQueued = false;
  }

  /** One second passed during the handshake; true when its deadline has passed. */
  handshakeExpired(): boolean {
    return ++this.#ageSeconds >= HANDSHAKE_TIMEOUT_S;
  }

  /** Every heartbeat/2 s: true when a heartbeat frame is due (then the caller sends one). */
  sendCheck(): boolean {
    if (this.#wroteSinceCheck && !this.#firstCheck) {
      this.#wroteSinceCheck = false;
      return false;
    }
    this.#firstCheck = false;
    this.#wroteSinceCheck = false;
    this.#heartbeatQueued = true;
    return true;
  }

  /**
   * Every heartbeat s: true when this is the second look in a row that found the client silent.
   * `taken`: outputTaken() (-1 unless reading is paused for output the client does not take).
   */
  receiveCheck(paused: boolean, taken = -1): boolean {
    // Paused for its own unread output, the client is excused only if it took some of it.
    const stalled = taken >= 0 && taken === this.#taken;
    this.#taken = taken;
    if (this.readSinceCheck || (paused && !stalled)) {
      this.readSinceCheck = false;
      this.#missed = 0;
      return false;
    }
    return ++this.#missed >= 2;
  }

  /** Starts the two heartbeat timers (connection.open); nothing when heartbeat is 0. */
  start(actions: LivenessActions): void {
    if (this.heartbeat === 0 || this.#timers.length > 0) return;
    const ms = this.heartbeat * 1000;
    this.#firstCheck = true;
    this.readSinceCheck = true; // the first look counts as traffic
    const send = setInterval(() => {
      if (this.sendCheck()) actions.sendHeartbeat();
    }, ms / 2);
    const receive = setInterval(() => {
      if (this.receiveCheck(actions.paused(), actions.outputTaken())) actions.peerSilent();
    }, ms);
    send.unref();
    receive.unref();
    this.#timers = [send, receive];
  }

  stop(): void {
    for (const t of this.#timers) clearInterval(t);
    this.#timers = [];
  }
}
