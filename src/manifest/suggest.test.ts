import { describe, expect, it } from 'vitest';
import { didYouMean, suggest } from './suggest.js';

describe('suggest', () => {
  it.each([
    ['need', ['id', 'uses', 'needs'], 'needs'],
    ['tmeout', ['timeout', 'retry'], 'timeout'],
    ['contineOnError', ['continueOnError'], 'continueOnError'],
    ['FailFast', ['failFast', 'continue'], 'failFast'],
    ['int', ['integer', 'number'], 'integer'],
    ['x', ['a', 'b'], undefined],
    ['colour', ['id', 'uses', 'needs', 'with'], undefined],
  ])('%s among %j suggests %s', (name, candidates, expected) => {
    expect(suggest(name, candidates)).toBe(expected);
  });

  it('formats a suggestion for appending to a message', () => {
    expect(didYouMean('need', ['needs'])).toBe(' (did you mean "needs"?)');
    expect(didYouMean('zzz', ['needs'])).toBe('');
  });
});
