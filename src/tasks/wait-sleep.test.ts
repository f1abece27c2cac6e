import { describe, expect, it } from 'vitest';
import { validateTaskInput, validateTaskOutput } from '../sdk/index.js';
import { waitSleep } from './wait-sleep.js';

describe('tasks/wait.sleep', () => {
  it.each([{ ms: 0 }, { ms: 500 }, { duration: '5s' }, { duration: '1.5m' }, { duration: '250ms' }])('accepts %j', (input) => {
    expect(() => validateTaskInput(waitSleep, input)).not.toThrow();
  });

  it.each([
    ['neither ms nor duration', {}],
    ['both ms and duration', { ms: 1, duration: '1s' }],
    ['a negative ms', { ms: -1 }],
    ['a fractional ms', { ms: 1.5 }],
    ['a duration without a unit', { duration: '5' }],
    ['a duration with an unknown unit', { duration: '5w' }],
    ['an unknown field', { ms: 1, seconds: 1 }],
  ])('refuses %s as TASK_INPUT_INVALID', (_, input) => {
    expect(() => validateTaskInput(waitSleep, input)).toThrow(expect.objectContaining({ code: 'TASK_INPUT_INVALID' }));
  });

  it('names the field at fault', () => {
    expect(() => validateTaskInput(waitSleep, { duration: 'soon' })).toThrow(/duration: must match pattern/);
  });

  it('describes its output as the time slept', () => {
    expect(() => validateTaskOutput(waitSleep, { slept: 5000 })).not.toThrow();
    expect(() => validateTaskOutput(waitSleep, {})).toThrow(/slept: is required/);
  });
});
