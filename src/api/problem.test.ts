import { describe, expect, it } from 'vitest';
import { MaestroError, ManifestError, ParamsError } from '../errors/index.js';
import { toProblem } from './problem.js';

describe('toProblem', () => {
  it('maps a MaestroError to RFC 9457 fields with its code and the status from ERROR_CODES', () => {
    expect(toProblem(new MaestroError('RUNBOOK_NOT_ALLOWED', 'no'), '/runbooks/trigger')).toEqual({
      type: 'urn:maestro:error:RUNBOOK_NOT_ALLOWED',
      title: 'The runbook is not allowed for this caller',
      status: 403,
      detail: 'no',
      code: 'RUNBOOK_NOT_ALLOWED',
      instance: '/runbooks/trigger',
    });
  });

  it('lists manifest issues with line, column and path, and param problems by path', () => {
    const manifest = toProblem(new ManifestError([{ file: 'f', line: 3, column: 5, path: 'spec.tasks[0].uses', message: 'unknown task' }]), '/workflows');
    expect(manifest.errors).toEqual([{ line: 3, column: 5, path: 'spec.tasks[0].uses', message: 'unknown task' }]);
    expect(toProblem(new ParamsError([{ name: 'env', message: 'is required' }]), '/runs').errors).toEqual([{ path: 'params.env', message: 'is required' }]);
  });

  it('turns a malformed JSON body into a 400 and anything unexpected into a 500 that hides its message', () => {
    const parseError = Object.assign(new SyntaxError('Unexpected end of JSON input'), { type: 'entity.parse.failed', status: 400 });
    expect(toProblem(parseError, '/runs')).toMatchObject({ status: 400, code: 'BAD_REQUEST' });
    const internal = toProblem(new Error('secret connection string in here'), '/runs');
    expect(internal).toMatchObject({ status: 500, code: 'INTERNAL' });
    expect(JSON.stringify(internal)).not.toContain('secret');
  });
});
