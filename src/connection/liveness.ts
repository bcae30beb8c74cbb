// Liveness of one connection, counted in the broker's one-second ticks: the handshake deadline,
// when to send a heartbeat because we have been quiet, and when to give up on a silent client.
// Pure bookkeeping; Connection acts on what tick() returns.

/** How long a client may take from TCP connect to tune-ok (RabbitMQ: 10 s). */
export const HANDSHAKE_TIMEOUT_S = 10;

export const enum Tick {
  None,
  SendHeartbeat,
  HandshakeTimeout,
  PeerSilent,
}

export class Liveness {
  /** Negotiated heartbeat in seconds; 0 means none. */
  heartbeat = 0;
  /** Set by the connection whenever bytes arrive (hot path: a plain field). */
  readSinceTick = false;
  #wroteSinceTick = false;
  #heartbeatQueued = false;
  #silentSeconds = 0;
  #idleSeconds = 0;
  #ageSeconds = 0;

  /** Called when `bytes` are written; our own heartbeat frame (8 bytes) does not count as traffic. */
  wrote(bytes: number): void {
    if (bytes > (this.#heartbeatQueued ? 8 : 0)) this.#wroteSinceTick = true;
    this.#heartbeatQueued = false;
  }

  /**
   * One second passed. `handshaking`: tune-ok has not arrived yet (only the deadline applies).
   * `paused`: we stopped reading the client ourselves, so its silence proves nothing.
   */
  tick(handshaking: boolean, paused: boolean): Tick {
    this.#ageSeconds++;
    if (handshaking) return this.#ageSeconds >= HANDSHAKE_TIMEOUT_S ? Tick.HandshakeTimeout : Tick.None;
    if (this.heartbeat === 0) return Tick.None;
    if (this.readSinceTick || paused) {
      this.readSinceTick = false;
      this.#silentSeconds = 0;
    } else if (++this.#silentSeconds >= this.heartbeat * 2) {
      return Tick.PeerSilent;
    }
    if (this.#wroteSinceTick) {
      this.#wroteSinceTick = false;
      this.#idleSeconds = 0;
    } else if (++this.#idleSeconds >= Math.max(1, Math.floor(this.heartbeat / 2))) {
      this.#idleSeconds = 0;
      this.#heartbeatQueued = true;
      return Tick.SendHeartbeat;
    }
    return Tick.None;
  }
}
