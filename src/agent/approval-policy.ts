/**
 * The approval policy (`approvals:` in config): decides per tool call whether it runs, is refused, or
 * waits for a person. Per tool (names or globs such as `github__*`, optionally per toolset) the mode is
 * `allow`, `ask` or `deny`; calls the built-in classifier flags as dangerous get `approvals.dangerous`
 * (per toolset overridable). It only decides; asking, timing out and remembering answers is the
 * approval gate's job (approval-gate.ts).
 */
import type { HeraldConfig } from '../config/schema.ts';
import { classifyDangerousCall } from './dangerous-call.ts';

export type ApprovalMode = 'allow' | 'ask' | 'deny';

export type PolicyVerdict =
  | { action: 'allow' }
  | { action: 'deny'; reason: string }
  | { action: 'ask'; reason: string; pattern: string };

/** The mode of `name` in `rules`: an exact name first, else the most specific (longest) matching glob. */
export function modeFor(
  rules: Readonly<Record<string, ApprovalMode>>,
  name: string,
): ApprovalMode | undefined {
  const exact = rules[name];
  if (exact) return exact;
  let best: { length: number; mode: ApprovalMode } | undefined;
  for (const [pattern, mode] of Object.entries(rules)) {
    if (!pattern.includes('*') || (best && best.length >= pattern.length)) continue;
    const regex = new RegExp(`^${pattern.split('*').map(escapeRegExp).join('.*')}$`);
    if (regex.test(name)) best = { length: pattern.length, mode };
  }
  return best?.mode;
}

export class ApprovalPolicy {
  readonly #config: HeraldConfig['approvals'];

  constructor(config: HeraldConfig['approvals']) {
    this.#config = config;
  }

  /** The verdict for one call; `argumentsJson` that does not parse is judged as no arguments (the tool will refuse it). */
  check(tool: string, argumentsJson: string, toolset: string, cwd: string): PolicyVerdict {
    const overrides = this.#config.toolsets[toolset];
    const mode = modeFor(overrides?.tools ?? {}, tool) ?? modeFor(this.#config.tools, tool) ?? 'allow';
    if (mode === 'deny') {
      return { action: 'deny', reason: `the operator's approval policy does not allow ${tool}` };
    }
    const danger = classifyDangerousCall(tool, parseArguments(argumentsJson), cwd);
    if (mode === 'ask') {
      return danger
        ? { action: 'ask', reason: danger.reason, pattern: `${tool}:${danger.category}:${danger.subject}` }
        : { action: 'ask', reason: `every ${tool} call needs approval`, pattern: tool };
    }
    if (!danger) return { action: 'allow' };
    const dangerous = overrides?.dangerous ?? this.#config.dangerous;
    if (dangerous === 'allow') return { action: 'allow' };
    if (dangerous === 'deny') return { action: 'deny', reason: `it ${danger.reason}` };
    return { action: 'ask', reason: danger.reason, pattern: `${tool}:${danger.category}:${danger.subject}` };
  }
}

function parseArguments(json: string): unknown {
  try {
    return JSON.parse(json.trim() || '{}');
  } catch {
    return {};
  }
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
