/**
 * Checks of declared parameters (`spec.parameters` of a workflow, `spec.inputs` of a runbook)
 * beyond their schema: unique names, and `default` and `enum` values of the declared type.
 */
import { isRecord } from '../ir/index.js';
import { parameterCelType, T, type CelType } from './cel-types.js';
import type { Reporter } from './issues.js';
import type { Path } from './path.js';
import { getValidators } from './schemas.js';
import { enumProblem, valueProblem } from './values.js';

/**
 * Reports duplicate names (at the later one) and mistyped `default` / `enum` values, and returns
 * each declared name with its type as expressions see it (`dyn` for a declaration that is itself
 * invalid, so that its uses are not reported as undeclared).
 */
export function checkParameters(declarations: unknown, base: Path, reporter: Reporter): Map<string, CelType> {
  const declared = new Map<string, CelType>();
  if (!Array.isArray(declarations)) return declared;
  const firstIndex = new Map<string, number>();
  const { parameter: isParameter } = getValidators();
  declarations.forEach((declaration: unknown, index) => {
    if (!isRecord(declaration) || typeof declaration.name !== 'string') return;
    const path = [...base, index];
    const first = firstIndex.get(declaration.name);
    if (first !== undefined) {
      const line = reporter.source.at([...base, first, 'name']).line;
      reporter.report([...path, 'name'], `duplicate parameter "${declaration.name}" (first declared at line ${line})`);
      return;
    }
    firstIndex.set(declaration.name, index);
    if (!isParameter(declaration)) {
      declared.set(declaration.name, T.dyn);
      return;
    }
    declared.set(declaration.name, parameterCelType(declaration.type));
    const allowed = declaration.enum;
    allowed?.forEach((value, i) => {
      const problem = valueProblem(declaration.type, value);
      if (problem) reporter.report([...path, 'enum', i], problem);
    });
    if (declaration.default !== undefined) {
      const problem = valueProblem(declaration.type, declaration.default) ?? (allowed ? enumProblem(allowed, declaration.default) : undefined);
      if (problem) reporter.report([...path, 'default'], `default ${problem}`);
    }
  });
  return declared;
}
