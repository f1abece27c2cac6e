/**
 * What `tasks/image.build` lets a Containerfile do, checked before anything is sent to the engine.
 * A build runs on the worker's container engine, so whatever makes the engine reach out on the
 * build's behalf is refused: a base image or `--from` image the engine would pull (only images the
 * build host already has, or earlier stages, may be named — checked by the task), `ADD` of a URL or
 * git repository (fetched by the engine, not from inside the network-less build container),
 * `RUN --mount` / `--network` / `--security` / `--device` flags, `ONBUILD` (instructions run by a
 * later build), and variables in image names (which a build argument or `ARG` default would choose).
 * Pure: no I/O.
 */

/** Largest Containerfile read. */
export const MAX_CONTAINERFILE_BYTES = 64 * 1024;
/** Most instructions in one Containerfile. */
const MAX_INSTRUCTIONS = 500;

const INSTRUCTIONS = new Set(['FROM', 'RUN', 'CMD', 'LABEL', 'EXPOSE', 'ENV', 'ADD', 'COPY', 'ENTRYPOINT', 'VOLUME', 'USER', 'WORKDIR', 'ARG', 'STOPSIGNAL', 'HEALTHCHECK', 'SHELL', 'MAINTAINER']);

/** What a checked Containerfile needs from the build host. */
export interface ContainerfilePlan {
  /** Images (not stages) named by `FROM` and `--from=`: each must already be on the build host. */
  baseImages: string[];
}

/** One refusal: the line (1-based) and why. */
export class ContainerfileError extends Error {
  constructor(
    readonly line: number,
    readonly reason: string,
  ) {
    super(`Containerfile line ${line}: ${reason}`);
  }
}

/**
 * Checks a Containerfile's text and lists the images it builds from.
 *
 * @throws {@link ContainerfileError} at the first instruction the build may not run.
 * @example
 * checkContainerfile('FROM localhost/base:1\nCOPY . /app\n'); // { baseImages: ['localhost/base:1'] }
 */
export function checkContainerfile(text: string): ContainerfilePlan {
  if (Buffer.byteLength(text) > MAX_CONTAINERFILE_BYTES) throw new ContainerfileError(1, `the file is over ${MAX_CONTAINERFILE_BYTES} bytes`);
  const stages = new Set<string>();
  const baseImages: string[] = [];
  const named = (image: string, line: number): void => {
    if (image.includes('$')) throw new ContainerfileError(line, `image "${image}" names a variable: name the image itself`);
    if (stages.has(image.toLowerCase()) || image === 'scratch' || /^\d+$/.test(image)) return;
    if (!baseImages.includes(image)) baseImages.push(image);
  };
  const instructions = logicalLines(text);
  if (instructions.length > MAX_INSTRUCTIONS) throw new ContainerfileError(1, `over ${MAX_INSTRUCTIONS} instructions`);
  if (instructions.length === 0) throw new ContainerfileError(1, 'no instructions');
  for (const { line, text: instruction } of instructions) {
    const [keyword = '', ...words] = instruction.split(/\s+/);
    const upper = keyword.toUpperCase();
    if (upper === 'ONBUILD') throw new ContainerfileError(line, 'ONBUILD is not allowed (it hides instructions for a later build)');
    if (!INSTRUCTIONS.has(upper)) throw new ContainerfileError(line, `unknown instruction ${keyword}`);
    const flags = words.filter((word) => word.startsWith('--'));
    const args = words.filter((word) => !word.startsWith('--'));
    if (upper === 'FROM') {
      if (flags.some((flag) => !flag.startsWith('--platform='))) throw new ContainerfileError(line, `FROM takes no ${flags.join(' ')}`);
      const [image, as, stage] = args;
      if (image === undefined) throw new ContainerfileError(line, 'FROM names no image');
      named(image, line);
      if (as?.toUpperCase() === 'AS' && stage !== undefined) stages.add(stage.toLowerCase());
    } else if (upper === 'RUN') {
      if (flags.length > 0) throw new ContainerfileError(line, `RUN ${flags[0]} is not allowed: a build step runs with no mounts, no network and no extra privileges`);
    } else if (upper === 'COPY' || upper === 'ADD') {
      for (const flag of flags) {
        if (flag.startsWith('--from=')) named(flag.slice('--from='.length), line);
        else if (!/^--(chown|chmod|link)(=|$)/.test(flag)) throw new ContainerfileError(line, `${upper} ${flag} is not allowed`);
      }
      const sources = sourcesOf(args);
      if (upper === 'ADD' && sources.some((source) => /^[a-z][a-z0-9+.-]*:\/\//i.test(source) || source.startsWith('git@'))) {
        throw new ContainerfileError(line, 'ADD of a URL or repository is not allowed: the engine would fetch it outside the build container; put the file in the repository');
      }
    }
  }
  return { baseImages };
}

/** The instructions, continuation lines joined, comments and blank lines dropped, each with its first line. */
function logicalLines(text: string): { line: number; text: string }[] {
  const out: { line: number; text: string }[] = [];
  let current: { line: number; text: string } | undefined;
  text.split(/\r?\n/).forEach((raw, index) => {
    const trimmed = raw.trim();
    if (current === undefined && (trimmed === '' || trimmed.startsWith('#'))) return;
    if (current !== undefined && trimmed.startsWith('#')) return;
    const continued = trimmed.endsWith('\\');
    const part = continued ? trimmed.slice(0, -1) : trimmed;
    current = current === undefined ? { line: index + 1, text: part } : { line: current.line, text: `${current.text} ${part}` };
    if (!continued) {
      if (current.text.trim() !== '') out.push({ line: current.line, text: current.text.trim() });
      current = undefined;
    }
  });
  if (current !== undefined && current.text.trim() !== '') out.push({ line: current.line, text: current.text.trim() });
  return out;
}

/** The sources of a COPY/ADD (all words but the destination), in shell or JSON-array form. */
function sourcesOf(args: string[]): string[] {
  const joined = args.join(' ');
  if (joined.startsWith('[')) {
    try {
      const parsed: unknown = JSON.parse(joined);
      if (Array.isArray(parsed)) return parsed.slice(0, -1).map(String);
    } catch {
      // Not JSON after all: read it as words.
    }
  }
  return args.slice(0, -1);
}
