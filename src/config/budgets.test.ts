import { describe, expect, it } from 'vitest';
import { ConfigError } from '../errors/index.js';
import { loadConfig } from './index.js';

describe('MAESTRO_COST_MODEL and MAESTRO_BUDGETS', () => {
  it('read the cost model, budgets and retention', () => {
    const config = loadConfig({
      MAESTRO_COST_MODEL: '{"perSecond":{"local":0.0001,"container":0.001},"perConnectorCall":0.00001,"perRun":0.001}',
      MAESTRO_BUDGETS: '{"team-a":{"period":"month","limit":100,"onExceed":"pause"},"team-b":{"period":"day","limit":0}}',
      MAESTRO_USAGE_RETENTION: '400d',
    });
    expect(config.costModel).toEqual({ perSecond: { local: 0.0001, container: 0.001 }, perConnectorCall: 0.00001, perRun: 0.001 });
    expect(config.budgets).toEqual({ 'team-a': { period: 'month', limit: 100, onExceed: 'pause' }, 'team-b': { period: 'day', limit: 0 } });
    expect(config.usageRetentionMs).toBe(400 * 86_400_000);
  });

  it.each([
    ['MAESTRO_COST_MODEL', '{perRun:', 'MAESTRO_COST_MODEL must be JSON'],
    ['MAESTRO_COST_MODEL', '{"perRun":-1}', 'MAESTRO_COST_MODEL must be'],
    ['MAESTRO_COST_MODEL', '{"perMinute":1}', 'MAESTRO_COST_MODEL must be'],
    ['MAESTRO_BUDGETS', '[]', 'must map namespaces to budgets'],
    ['MAESTRO_BUDGETS', '{"Team A":{"period":"day","limit":1}}', 'invalid namespace name "Team A"'],
    ['MAESTRO_BUDGETS', '{"team-a":{"period":"year","limit":1}}', 'MAESTRO_BUDGETS must map namespaces to'],
    ['MAESTRO_BUDGETS', '{"team-a":{"period":"day","limit":1,"onExceed":"ignore"}}', 'MAESTRO_BUDGETS must map namespaces to'],
  ])('refuses %s = %s, naming the variable', (variable, value, message) => {
    expect(() => loadConfig({ [variable]: value })).toThrow(ConfigError);
    expect(() => loadConfig({ [variable]: value })).toThrow(message);
  });
});
