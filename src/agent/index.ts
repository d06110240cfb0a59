/**
 * The agent subsystem's front door: the `Agent` loop, the platform → default toolset mapping and the
 * run's event types. Other subsystems import from here only.
 */
export { Agent, type AgentOptions } from './agent.ts';
export { type ApprovalRuleStore, ApprovalTimeoutError, memoryApprovalRules } from './approval-gate.ts';
export { type ApprovalMode, ApprovalPolicy, modeFor, type PolicyVerdict } from './approval-policy.ts';
export {
  type Compaction,
  type ContextCompaction,
  ContextCompactor,
  compactedConversation,
  summaryMessage,
  summaryOf,
} from './context-compactor.ts';
export { classifyCommand, classifyDangerousCall, type DangerousMatch } from './dangerous-call.ts';
export { defaultToolsetFor } from './default-toolset.ts';
export * from './types.ts';
