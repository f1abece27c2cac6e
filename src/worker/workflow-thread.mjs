/**
 * Maestro's workflow thread: the SDK's own (`@temporalio/worker/lib/workflow/workflow-worker-thread`),
 * with a promise hook that captures where each workflow promise was made but formats that stack
 * only when Temporal's stack-trace query asks for it.
 *
 * The SDK's hook runs for every promise a workflow creates: it compiles two functions to find the
 * promise's workflow and its realm's `Error`, then captures the stack and formats it at once,
 * source-mapping every frame, and compiles a third function when the promise settles. Almost
 * every promise settles long before anyone queries a stack, so nearly all of that work is thrown
 * away: measured on the interpreter, it was about a third of the workflow thread's CPU and a
 * quarter of a 100-branch run's time. Here the reader of each realm's activator and `Error` is
 * compiled once, the stack is captured as V8 does for any `Error` (its text is made on first
 * read), and the query formats the stacks of the promises still pending, exactly as the SDK's
 * override of `Error.prepareStackTrace` does.
 *
 * One difference: the SDK recognises the promises `Promise.all`/`race`/… make internally by
 * their formatted stack at creation, and files their parents under the aggregate instead. Here
 * such a promise is recorded like any other, and its stack is left out of the query's answer when
 * it is formatted: its parent is then not a leaf, and the aggregate's own stack stands for the wait,
 * which is what the SDK answers too.
 */
import v8 from 'node:v8';
import { cutoffStackTrace } from '@temporalio/common';
import { globalHandlers } from '@temporalio/worker/lib/workflow/vm-shared.js';

/** The first line and the hook's own frames, which the SDK strips from a captured stack. */
const HOOK_FRAMES = /^Error\n\s*at [^\n]+\n(\s*at initAll \(node:internal\/promise_hooks:\d+:\d+\)\n)?/;
/** A promise `Promise.all`/`race`/`allSettled`/`any` made internally, by its formatted stack. */
const AGGREGATE_STEP = /^\s+at\sPromise\.then \(<anonymous>\)\n\s+at (Function|Promise)\.(race|all|allSettled|any) \(<anonymous>\)\n/;

/** Per realm (keyed by its `Function`): a reader of its current activator, and its `Error`. */
const realms = new WeakMap();

/** The activator of the workflow `promise` belongs to, with its realm's `Error`; undefined outside workflows. */
function workflowOf(promise) {
  const realmFunction = promise.constructor.constructor;
  let realm = realms.get(realmFunction);
  if (realm === undefined) {
    // Read at each call: a reused context swaps `__TEMPORAL_ACTIVATOR__` from one workflow to the next.
    realm = realmFunction('return { activator: () => globalThis.__TEMPORAL_ACTIVATOR__, Error: globalThis.Error }')();
    realms.set(realmFunction, realm);
  }
  const activator = realm.activator();
  return activator ? { activator, Error: realm.Error } : undefined;
}

/** The SDK's `cutoffStructuredStackTrace` (vm-shared.js, not exported): the hook's frames and the SDK's own below the workflow's. */
function cutoffStructured(frames) {
  frames.shift();
  if (frames[0]?.function_name === 'initAll' && frames[0].file_path === 'node:internal/promise_hooks') frames.shift();
  const sdk = frames.findIndex(
    ({ function_name: name, file_path: path }) =>
      name &&
      path &&
      ((/^Activator\.\S+NextHandler$/.test(name) && /.*[\\/]workflow[\\/](?:src|lib)[\\/]internals\.[jt]s$/.test(path)) ||
        (/Script\.runInContext/.test(name) && /^node:vm|vm\.js$/.test(path))),
  );
  if (sdk > -1) frames.splice(sdk);
}

/**
 * A promise's stack as the SDK's store holds it (`formatted` text, `structured` frames), made from
 * the captured `error` on first read: `formatted` is undefined for a stack that is not the
 * workflow's, or that of a promise an aggregate made.
 */
function lazyStack(error) {
  let formatted;
  let structured;
  let made = false;
  const make = () => {
    if (made) return;
    made = true;
    globalHandlers.currentStackTrace = undefined;
    // Reading `stack` runs the SDK's `Error.prepareStackTrace`, which fills `currentStackTrace`.
    const text = cutoffStackTrace(error.stack?.replace(HOOK_FRAMES, ''));
    const frames = globalHandlers.currentStackTrace;
    globalHandlers.currentStackTrace = undefined;
    if (frames === undefined || AGGREGATE_STEP.test(text)) return;
    cutoffStructured(frames);
    formatted = text;
    structured = frames;
  };
  return {
    get formatted() {
      make();
      return formatted;
    },
    get structured() {
      make();
      return structured;
    },
  };
}

globalHandlers.setPromiseHook = function setPromiseHook() {
  this.stopPromiseHook = v8.promiseHooks.createHook({
    init(promise, parent) {
      const workflow = workflowOf(promise);
      if (workflow === undefined) return;
      const store = workflow.activator.promiseStackStore;
      promise.runId = workflow.activator.info.runId;
      if (promise === parent) return;
      store.promiseToStack.set(promise, lazyStack(new workflow.Error()));
      const parents = store.childToParent.get(promise) ?? new Set();
      if (parent) parents.add(parent);
      store.childToParent.set(promise, parents);
    },
    settled(promise) {
      const store = workflowOf(promise)?.activator.promiseStackStore;
      if (store === undefined) return;
      store.childToParent.delete(promise);
      store.promiseToStack.delete(promise);
    },
  });
  this.promiseHookInstalled = true;
};

// The SDK's thread installs the hook when its first message (`init`) arrives, after this.
await import('@temporalio/worker/lib/workflow/workflow-worker-thread.js');
