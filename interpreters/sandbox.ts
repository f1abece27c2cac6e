/**
 * Settings of the workflow sandbox's V8 context, made once when the worker preloads this module
 * (see `bundleInterpreter`): after the preload the SDK freezes the context's globals, `Error`
 * among them, so they cannot be made later, from a workflow.
 *
 * A stack is captured for every promise a workflow creates (for Temporal's stack-trace query; the
 * worker's thread formats it only when the query asks, see src/worker/workflow-thread.mjs). The
 * interpreter's stacks are deep — an attempt is scheduled from the scheduler's pass inside an
 * event's report inside a cancellation scope — so with V8's default of 10 frames that capture,
 * frame by frame, was the largest single cost of its workflow thread. Six frames are kept: the
 * promise hook takes two, and the four left name where a run waits and what led there
 * (`condition` ← `awaitApproval` ← `startAttempt`, …). Failures thrown in the sandbox keep six
 * frames of stack too.
 */
Error.stackTraceLimit = 6;
