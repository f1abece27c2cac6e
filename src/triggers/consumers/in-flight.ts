/**
 * The in-flight bound of one consumer: at most `max` messages are being handled at once, and a
 * stop waits for them only so long (what is still in flight then is left unacknowledged, to be
 * redelivered to the next consumer of the same durable name or group).
 */

/** Counts the messages in flight and lets the next one in when a slot is free. */
export class InFlight {
  /** Messages being handled now. */
  private count = 0;
  /** Who waits for a slot, first come first served. */
  private readonly waiting: (() => void)[] = [];
  /** Who waits for the count to reach 0. */
  private readonly drained: (() => void)[] = [];
  /** The most in flight at any moment so far (tests and the benchmark read it). */
  peak = 0;

  constructor(readonly max: number) {}

  /** Messages being handled now. */
  get size(): number {
    return this.count;
  }

  /** Resolves once a slot is taken. */
  async acquire(): Promise<void> {
    if (this.count >= this.max) await new Promise<void>((resolve) => this.waiting.push(resolve));
    this.count += 1;
    this.peak = Math.max(this.peak, this.count);
  }

  /** Frees a slot. */
  release(): void {
    this.count -= 1;
    this.waiting.shift()?.();
    if (this.count === 0) for (const resolve of this.drained.splice(0)) resolve();
  }

  /** Resolves when nothing is in flight, or after `ms`; true when nothing is. */
  async idle(ms: number): Promise<boolean> {
    if (this.count === 0) return true;
    let timer: NodeJS.Timeout | undefined;
    const done = await Promise.race([
      new Promise<boolean>((resolve) => this.drained.push(() => resolve(true))),
      new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), ms))),
    ]);
    clearTimeout(timer);
    return done;
  }
}
