/**
 * The policy decision point's contract: what Maestro asks (`PolicyInput`, documented for policy
 * authors in policies/README.md) and what it gets back (`PolicyDecision`).
 */
import type { PolicyContext, Principal, RunsOn } from '../ir/index.js';

/** When the question is asked: before a run starts, or before one task executes. */
export type PolicyStage = 'run' | 'task';

/** The input document the policy decides on. */
export interface PolicyInput {
  stage: PolicyStage;
  /** Who the decision is made for. */
  principal: Principal;
  workflow: { name: string; version: string; digest: string };
  /** The task about to execute; absent for a run-start decision. */
  task?: {
    /** Task id, or `task[index]` for a forEach item. */
    id: string;
    /** Exact catalog reference, `tasks/http.request@0.1.0`. */
    uses: string;
    runsOn: RunsOn;
    /** The task's labels; `classification` is the data classification the license must permit. */
    labels: Record<string, string>;
  };
  /** The workflow's purpose, authority and license with the task's overrides applied. */
  policy: PolicyContext;
  run: { runId: string; namespace: string; traceId?: string };
}

/** The answer to one {@link PolicyInput}. */
export interface PolicyDecision {
  allow: boolean;
  /** Why not (empty when allowed, unless the PDP could not answer and the namespace fails open). */
  reasons: string[];
  /** Unique id of this decision; the decision log's key. */
  decisionId: string;
  /** Revision of the policy bundle that decided (`sha256:` of policies/ for the built-in bundles). */
  bundleRevision: string;
  /** `sha256:` of the RFC 8785 canonical JSON of the input. */
  inputDigest: string;
  /**
   * What an allowed task must do to run: `requireSignedImage` — its container image must carry a
   * trusted signature (the container runner checks it before the start).
   * @default undefined — no obligation
   */
  obligations?: PolicyObligations;
  /**
   * Set when the PDP could not answer and the namespace's fallback decided instead:
   * `closed` (denied) or `open` (allowed).
   */
  fallback?: 'open' | 'closed';
}

/** Conditions an allowing decision attaches to the task it allows. */
export interface PolicyObligations {
  /** The task's container image must be verified against the trusted keys before it starts. */
  requireSignedImage?: boolean;
}

/** A policy decision point: embedded (wasm, in-process), remote (an OPA server) or SIG's. */
export interface PolicyDecisionPoint {
  readonly mode: 'embedded' | 'remote' | 'sig';
  /**
   * The bundle revision every decision of this PDP is made under, when it is known without asking
   * (the embedded PDP's, loaded once). A task attempt acts on its run-start decision only when that
   * decision was made under this revision.
   * @default undefined — not known without asking (an OPA server may load a new bundle at any
   *   time): every attempt is decided again
   */
  readonly revision?: string;
  /** Decides; never throws for a denial or an unreachable OPA (those are decisions too). */
  decide(input: PolicyInput): Promise<PolicyDecision>;
  /** Releases connections or memory. */
  close(): Promise<void>;
}
