import { describe, expect, it } from 'vitest';
import { readSource } from './source.js';

const text = `spec:
  tasks:
    - id: a
      needs: [b, c]
      with:
        url: 'https://x/\${params.p}'
`;

describe('readSource', () => {
  const source = readSource(text, 'f.yaml');

  it('locates values, keys, and block collections at their key', () => {
    expect(source.at(['spec', 'tasks', 0, 'id'])).toEqual({ line: 3, column: 11 });
    expect(source.at(['spec', 'tasks', 0, 'id'], 'key')).toEqual({ line: 3, column: 7 });
    expect(source.at(['spec', 'tasks', 0, 'needs', 1])).toEqual({ line: 4, column: 18 });
    expect(source.at(['spec', 'tasks', 0, 'needs'])).toEqual({ line: 4, column: 14 });
    expect(source.at(['spec', 'tasks'])).toEqual({ line: 2, column: 3 });
    expect(source.at(['spec', 'tasks', 0])).toEqual({ line: 3, column: 7 });
  });

  it('falls back to the nearest existing ancestor', () => {
    expect(source.at(['spec', 'tasks', 0, 'retry', 'jitter'])).toEqual({ line: 3, column: 7 });
  });

  it('locates a character inside a quoted string', () => {
    expect(source.atChar(['spec', 'tasks', 0, 'with', 'url'], 10)).toEqual({ line: 6, column: 25 });
  });

  it('reports the first syntax error only, and no data', () => {
    const broken = readSource('a: [1, 2\nb: {\n', 'g.yaml');
    expect(broken.data).toBeUndefined();
    expect(broken.syntaxIssues).toHaveLength(1);
    expect(broken.syntaxIssues[0]).toMatchObject({ file: 'g.yaml', path: '' });
  });

  it('refuses to expand an alias bomb', () => {
    const levels = ['a: &a [x, x, x, x, x, x, x, x, x, x]'];
    for (let i = 1; i < 6; i += 1) levels.push(`l${i}: &l${i} [${Array(10).fill(i === 1 ? '*a' : `*l${i - 1}`).join(', ')}]`);
    const bomb = readSource(`${levels.join('\n')}\n`, 'bomb.yaml');
    expect(bomb.data).toBeUndefined();
    expect(bomb.syntaxIssues).toEqual([expect.objectContaining({ line: 1, column: 1, message: expect.stringContaining('alias') })]);
  });
});
