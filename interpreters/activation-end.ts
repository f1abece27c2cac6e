/**
 * Work a workflow does once an activation's events have all been applied: a workflow internals
 * interceptor (`concludeActivation`), bundled with the interpreter as one of its
 * `workflowInterceptorModules` (see `bundleInterpreter`).
 *
 * The interpreter publishes its run's state once per activation that changed it, here and only
 * here. Deferring that to a microtask would cost two promises per activation, and the SDK captures
 * and source-maps a stack for every promise a workflow creates; this hook costs none. A sink call
 * is not a command: histories replay the same whichever way the state is published.
 *
 * Module state is per workflow: the worker evaluates a bundle's modules once per workflow
 * execution, except those it preloads (this module and its importers must not be preloaded).
 */
import type { WorkflowInterceptorsFactory } from '@temporalio/workflow';

/** Whether this workflow's interceptors were made from this module (the bundle names it). */
let installed = false;
/** What runs when the current activation concludes, if anything. */
let pending: (() => void) | undefined;

/** The interceptor: runs what is pending, after the activation's jobs and their reactions. */
export const interceptors: WorkflowInterceptorsFactory = () => {
  installed = true;
  return {
    internals: [
      {
        concludeActivation(input, next) {
          const run = pending;
          pending = undefined;
          run?.();
          return next(input);
        },
      },
    ],
  };
};

/**
 * Runs `fn` once the current activation's events have all been applied, just before its commands
 * go back to the worker; a later call in the same activation replaces it. Throws when the bundle
 * does not name this module as an interceptor module (build it with `bundleInterpreter`): the
 * run's state would never be published.
 */
export function atActivationEnd(fn: () => void): void {
  if (!installed) throw new Error('the interpreter bundle lacks its activation-end interceptor (interpreters/activation-end.ts): bundle it with bundleInterpreter()');
  pending = fn;
}
