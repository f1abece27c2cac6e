/**
 * The event streams one API process holds open, counted per principal and in total: what keeps a
 * client (or many) from holding unbounded connections (`MAESTRO_STREAMS_PER_PRINCIPAL`,
 * `MAESTRO_STREAMS_TOTAL`).
 */
import { MaestroError } from '../errors/index.js';

/** Defaults of the settings, when unset. */
export const STREAM_LIMIT_DEFAULTS = { perPrincipal: 8, total: 256 } as const;
/** What a refused client is told to wait before it tries again, in seconds. */
const RETRY_AFTER_SECONDS = 5;

/** Limits of {@link StreamSlots}. */
export interface StreamLimits {
  /** Open streams per principal. @default 8 */
  perPrincipal: number;
  /** Open streams in the process. @default 256 */
  total: number;
}

/** The event streams open in one API process, counted per principal (by name) and in total. */
export class StreamSlots {
  /** Open streams over every principal. */
  private total = 0;
  /** Open streams by principal name; a name leaves the map when its count falls to zero. */
  private readonly byPrincipal = new Map<string, number>();

  constructor(readonly limits: StreamLimits) {}

  /**
   * Takes a slot for `principal`; call the returned function once, when the stream ends.
   * @throws MaestroError `TOO_MANY_STREAMS` (429, `Retry-After`) when a limit is reached.
   */
  acquire(principal: string): () => void {
    const own = this.byPrincipal.get(principal) ?? 0;
    if (own >= this.limits.perPrincipal || this.total >= this.limits.total) {
      const which = own >= this.limits.perPrincipal ? `${principal} holds ${own} open event streams, the most one principal may` : `the API holds ${this.total} open event streams, the most it serves`;
      throw new MaestroError('TOO_MANY_STREAMS', `${which}; close one or retry in ${RETRY_AFTER_SECONDS} s`, { details: { retryAfterSeconds: RETRY_AFTER_SECONDS } });
    }
    this.byPrincipal.set(principal, own + 1);
    this.total += 1;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.total -= 1;
      const left = (this.byPrincipal.get(principal) ?? 1) - 1;
      if (left === 0) this.byPrincipal.delete(principal);
      else this.byPrincipal.set(principal, left);
    };
  }
}
