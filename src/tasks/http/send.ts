import type { Dispatcher } from 'undici';
import { createEgressAgent, EgressGuard, EgressPolicy } from '../../egress/index.js';
import { markFailed, serverAttributes, TRACE_HEADER_NAMES, withClientSpan } from '../../telemetry/index.js';

/**
 * How the catalog's HTTP tasks (`tasks/http.request`, `tasks/notify.slack`,
 * `connectors/sig.ingest`) reach the network: `fetch` through one egress-checked dispatcher per
 * namespace. Build one per worker from config and pass it to the catalog.
 */
export class HttpClient {
  private readonly agents = new Map<string, Dispatcher>();

  /** @param policy which addresses each namespace may reach. @default a policy that allow-lists nothing */
  constructor(readonly policy: EgressPolicy = new EgressPolicy()) {}

  /**
   * Sends one request and resolves with the response head; the body streams afterwards. Redirects
   * are followed (at most 20, fetch's own limit), each new connection checked again.
   *
   * The exchange is an HTTP client span (until the response head) whose trace context replaces any
   * `traceparent` / `tracestate` the request carried: a task author cannot attach a call to a
   * trace of their choosing. The span names the method, host and port, never the path or query.
   *
   * @throws TypeError from `fetch` on network failure; its `cause` is an `EgressDeniedError` when the
   * policy refused the address.
   */
  send(request: Request, { signal, namespace }: { signal: AbortSignal; namespace: string }): Promise<Response> {
    // Node's fetch takes an undici dispatcher; the option is not in lib.dom's RequestInit.
    const init: RequestInit & { dispatcher: Dispatcher } = { signal, redirect: 'follow', dispatcher: this.agent(namespace) };
    const url = new URL(request.url);
    const attributes = { 'http.request.method': request.method, 'url.scheme': url.protocol.slice(0, -1), ...serverAttributes(url) };
    return withClientSpan(request.method, attributes, async (trace, span) => {
      for (const name of TRACE_HEADER_NAMES) request.headers.delete(name);
      for (const [name, value] of Object.entries(trace)) request.headers.set(name, value);
      const response = await fetch(request, init);
      span.setAttribute('http.response.status_code', response.status);
      if (response.status >= 400) markFailed(span, String(response.status));
      return response;
    });
  }

  /** Closes every pooled connection. */
  async close(): Promise<void> {
    const agents = [...this.agents.values()];
    this.agents.clear();
    await Promise.all(agents.map((agent) => agent.close()));
  }

  private agent(namespace: string): Dispatcher {
    let agent = this.agents.get(namespace);
    if (!agent) {
      agent = createEgressAgent({ guard: new EgressGuard(this.policy, namespace) });
      this.agents.set(namespace, agent);
    }
    return agent;
  }
}
