import { TextDecoder } from 'node:util';
import { REDACTED } from '../ir/index.js';
import type { TaskLogger } from '../sdk/index.js';

/** Options of {@link LogLines}. */
export interface LogLinesOptions {
  logger: TaskLogger;
  /** Added to every log record, e.g. `{ runner: 'container', container: id }`. */
  fields?: Record<string, unknown>;
  /** Values replaced by `[redacted]` wherever they appear in a line. @default [] */
  redact?: string[];
  /** Lines kept for {@link LogLines.tail}. @default 50 */
  tailLines?: number;
  /** A longer line is cut (the rest dropped, marked with `…`). @default 16384 */
  maxLineChars?: number;
}

/**
 * A function that replaces every one of `secrets` wherever it appears in a text by `[redacted]`;
 * empty values are ignored, and a secret containing another is replaced whole.
 *
 * @example
 * const scrub = secretRedactor([token]);
 * logger.info(scrub(line));
 */
export function secretRedactor(secrets: readonly string[]): (text: string) => string {
  // Longest first, so a secret containing another is replaced whole.
  const values = secrets.filter((value) => value.length > 0).sort((a, b) => b.length - a.length);
  return (text) => {
    let out = text;
    for (const value of values) out = out.split(value).join(REDACTED);
    return out;
  };
}

/**
 * Turns a workload's output stream into task log lines: splits chunks on newlines, replaces secret
 * values, logs each line through the task's logger (so it lands in the run's task log) and keeps
 * the last lines for the task's outputs and error messages.
 */
export class LogLines {
  private readonly logger: TaskLogger;
  private readonly fields: Record<string, unknown>;
  private readonly redact: (text: string) => string;
  private readonly tailLines: number;
  private readonly maxLineChars: number;
  private readonly pending = new Map<string, string>();
  private readonly decoders = new Map<string, TextDecoder>();
  private readonly kept: string[] = [];
  /** Lines seen in all. */
  count = 0;

  constructor({ logger, fields = {}, redact = [], tailLines = 50, maxLineChars = 16_384 }: LogLinesOptions) {
    this.logger = logger;
    this.fields = fields;
    this.redact = secretRedactor(redact);
    this.tailLines = tailLines;
    this.maxLineChars = maxLineChars;
  }

  /** Adds a chunk of `stream` (`stdout` or `stderr`); complete lines are logged at once. */
  write(stream: string, chunk: Uint8Array | string): void {
    let decoder = this.decoders.get(stream);
    if (!decoder) {
      decoder = new TextDecoder();
      this.decoders.set(stream, decoder);
    }
    const text = (this.pending.get(stream) ?? '') + (typeof chunk === 'string' ? chunk : decoder.decode(chunk, { stream: true }));
    const lines = text.split('\n');
    this.pending.set(stream, lines.pop() ?? '');
    for (const line of lines) this.line(stream, line);
  }

  /** Logs what is left of unterminated lines. */
  flush(): void {
    for (const [stream, rest] of this.pending) if (rest !== '') this.line(stream, rest);
    this.pending.clear();
  }

  /** The last lines, oldest first, joined by newlines. */
  tail(): string {
    return this.kept.join('\n');
  }

  /** Replaces every secret value in `text`. */
  scrub(text: string): string {
    return this.redact(text);
  }

  private line(stream: string, raw: string): void {
    const trimmed = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    const cut = trimmed.length > this.maxLineChars ? `${trimmed.slice(0, this.maxLineChars)}…` : trimmed;
    const line = this.scrub(cut);
    this.count += 1;
    this.kept.push(line);
    if (this.kept.length > this.tailLines) this.kept.shift();
    this.logger.info(line, { ...this.fields, stream });
  }
}
