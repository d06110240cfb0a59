import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { configSchema } from '../config/schema.ts';
import { ApprovalPolicy, modeFor } from './approval-policy.ts';

const policyOf = (approvals: Record<string, unknown>) =>
  new ApprovalPolicy(configSchema.parse({ approvals }).approvals);
const rm = JSON.stringify({ command: 'rm -rf build' });
const ls = JSON.stringify({ command: 'ls' });

describe('ApprovalPolicy', () => {
  it('by default asks for dangerous commands only', () => {
    const policy = policyOf({});
    assert.deepEqual(policy.check('terminal', ls, 'api', '/ws'), { action: 'allow' });
    assert.deepEqual(policy.check('terminal', rm, 'api', '/ws'), {
      action: 'ask',
      reason: 'deletes files recursively',
      pattern: 'terminal:recursive-delete:rm',
    });
  });

  it('dangerous: deny refuses, allow lets through, per toolset too', () => {
    const policy = policyOf({ dangerous: 'deny', toolsets: { trusted: { dangerous: 'allow' } } });
    assert.equal(policy.check('terminal', rm, 'api', '/ws').action, 'deny');
    assert.equal(policy.check('terminal', rm, 'trusted', '/ws').action, 'allow');
  });

  it('per-tool modes by name or glob; the toolset overrides the global rule', () => {
    const policy = policyOf({
      tools: { 'github__*': 'ask', github__get_issue: 'allow', web_fetch: 'deny' },
      toolsets: { chat: { tools: { 'github__*': 'deny' } } },
    });
    assert.deepEqual(policy.check('github__create_issue', '{}', 'api', '/ws'), {
      action: 'ask',
      reason: 'every github__create_issue call needs approval',
      pattern: 'github__create_issue',
    });
    assert.equal(policy.check('github__get_issue', '{}', 'api', '/ws').action, 'allow');
    assert.equal(policy.check('web_fetch', '{}', 'api', '/ws').action, 'deny');
    assert.equal(policy.check('github__create_issue', '{}', 'chat', '/ws').action, 'deny');
    // An allowed tool still meets the classifier.
    assert.equal(
      policyOf({ tools: { terminal: 'allow' } }).check('terminal', rm, 'api', '/ws').action,
      'ask',
    );
  });

  it('prefers the exact name, then the longest matching glob', () => {
    const rules = { '*': 'deny', 'a__*': 'ask', a__b: 'allow' } as const;
    assert.equal(modeFor(rules, 'a__b'), 'allow');
    assert.equal(modeFor(rules, 'a__c'), 'ask');
    assert.equal(modeFor(rules, 'z'), 'deny');
    assert.equal(modeFor({}, 'z'), undefined);
  });
});
