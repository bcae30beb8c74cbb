// Work the writer does only once no batch came for a while (reclaiming free pages after a
// drained backlog, worker.ts). A batch calls busy(); the steps run idleMs after the last one,
// each in its own turn of the event loop, so a batch that arrives meanwhile goes first.
//
// busy() arms a timer only when none is pending, and a timer that fires early waits out the
// rest of the idle time: refreshing a timer on every batch re-inserted it into Node's timer
// list each time, about 1 % of the writer's CPU in (h)'s publish.

export class IdleSteps {
  #lastBusy: number;
  #timer: NodeJS.Timeout | null = null;
  #immediate: NodeJS.Immediate | null = null;
  #closed = false;

  /**
   * `step` does one step and says whether there is more to do (false: wait for the next idle
   * spell). It starts pending, as though a batch had just come.
   */
  constructor(
    private readonly idleMs: number,
    private readonly step: () => boolean,
    private readonly now: () => number = () => performance.now(),
  ) {
    this.#lastBusy = now();
    this.#timer = setTimeout(this.#fire, idleMs);
  }

  /** A batch came: the steps wait until idleMs after the last call. */
  busy(): void {
    this.#lastBusy = this.now();
    if (this.#timer === null && this.#immediate === null && !this.#closed) this.#timer = setTimeout(this.#fire, this.idleMs);
  }

  close(): void {
    this.#closed = true;
    if (this.#timer !== null) clearTimeout(this.#timer);
    if (this.#immediate !== null) clearImmediate(this.#immediate);
    this.#timer = null;
    this.#immediate = null;
  }

  readonly #fire = (): void => {
    this.#timer = null;
    this.#immediate = null;
    if (this.#closed) return;
    const idle = this.now() - this.#lastBusy;
    if (idle < this.idleMs) {
      this.#timer = setTimeout(this.#fire, Math.ceil(this.idleMs - idle));
      return;
    }
    if (this.step()) this.#immediate = setImmediate(this.#fire);
  };
}
