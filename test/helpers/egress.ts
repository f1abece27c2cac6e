import { egressPolicyOf } from '../../src/tasks/index.js';
import { loadConfig } from '../../src/config/index.js';
import { createTestContext, type TestContextOptions, type TestTaskContext } from '../../src/sdk/index.js';

/**
 * The allow-list the tests' workers run with, as a user sets it (`MAESTRO_EGRESS_ALLOW`): their
 * peers listen on loopback, which tasks may only reach where a namespace allow-lists it.
 */
export const TEST_EGRESS_ALLOW = { default: ['127.0.0.0/8', '::1/128'] } as const;

/** The egress policy a worker configured with {@link TEST_EGRESS_ALLOW} (and default endpoints) enforces. */
export const TEST_EGRESS = egressPolicyOf(loadConfig({ MAESTRO_EGRESS_ALLOW: JSON.stringify(TEST_EGRESS_ALLOW) }));

/** A test context whose `ctx.egress` allows the local peers, as {@link TEST_EGRESS_ALLOW} does. */
export function peerContext(options: TestContextOptions = {}): TestTaskContext {
  return createTestContext({ egress: TEST_EGRESS, ...options });
}
