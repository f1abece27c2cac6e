import { describe, expect, it } from 'vitest';
import { checkContainerfile, ContainerfileError } from './containerfile.js';

function refusal(text: string): ContainerfileError {
  try {
    checkContainerfile(text);
  } catch (error) {
    if (error instanceof ContainerfileError) return error;
    throw error;
  }
  throw new Error('expected a refusal');
}

describe('checkContainerfile', () => {
  it('lists the images a build starts from, leaving out stages and scratch', () => {
    const text = [
      '# syntax comment',
      'FROM localhost/base:1 AS build',
      'RUN make \\',
      '    all',
      'FROM scratch',
      'COPY --from=build /out /out',
      'COPY --from=localhost/tools:2 /bin/tool /bin/tool',
      'CMD ["/out/app"]',
    ].join('\n');
    expect(checkContainerfile(text)).toEqual({ baseImages: ['localhost/base:1', 'localhost/tools:2'] });
  });

  it.each([
    ['ADD https://example.com/x.tgz /x', 2, 'ADD of a URL'],
    ['ADD ["git@github.com:a/b.git", "/src"]', 2, 'ADD of a URL'],
    ['RUN --mount=type=bind,target=/host true', 2, 'RUN --mount=type=bind,target=/host is not allowed'],
    ['RUN --network=host wget x', 2, 'RUN --network=host is not allowed'],
    ['RUN --security=insecure true', 2, 'RUN --security=insecure is not allowed'],
    ['ONBUILD RUN true', 2, 'ONBUILD is not allowed'],
    ['FROM $BASE', 2, 'names a variable'],
    ['COPY --from=${IMG} /a /a', 2, 'names a variable'],
    ['EVIL x', 2, 'unknown instruction EVIL'],
  ])('refuses %s', (instruction, line, reason) => {
    const error = refusal(`FROM localhost/base:1\n${instruction}\n`);
    expect(error.line).toBe(line);
    expect(error.reason).toContain(reason);
  });

  it('refuses an empty file and one over its size bound', () => {
    expect(refusal('# nothing\n').reason).toBe('no instructions');
    expect(refusal(`FROM a\n${'RUN true\n'.repeat(10_000)}`).reason).toMatch(/over 65536 bytes/);
  });
});
