/**
 * Picks how the agent's own tool use appears in one Responses API answer, from
 * `api_server.responses.tool_items` and the request's User-Agent. `auto` (the default) serves the Vercel
 * AI SDK `mcp_call` items — its Responses parser rejects `function_call_output` output items and reads
 * `function_call` items as calls to the client's own tools — and everyone else (openai-node, raw HTTP)
 * `function_call` + `function_call_output` items. It only decides; responses-stream.ts builds the items.
 */
import type { HeraldConfig } from '../../../config/schema.ts';
import type { ToolItemStyle } from './responses-stream.ts';

export type ToolItemsSetting = HeraldConfig['api_server']['responses']['tool_items'];

/**
 * The AI SDK appends its packages to the User-Agent of every request: v5 sends
 * `ai/5.x ai-sdk/provider-utils/… runtime/node.js/…`, v6/v7 `ai/7.x ai-sdk-provider-utils/… node.js/24`
 * (or `ai-sdk-openai/…` when the call did not go through `generateText`/`streamText`). A token starting
 * with `ai-sdk/` or `ai-sdk-` matches every one of them and nothing openai-node sends (`OpenAI/JS …`).
 */
const aiSdkToken = /(?:^|\s)ai-sdk[/-]/i;

export function isAiSdkUserAgent(userAgent: string | undefined): boolean {
  return typeof userAgent === 'string' && aiSdkToken.test(userAgent);
}

export function resolveToolItemStyle(
  setting: ToolItemsSetting,
  userAgent: string | undefined,
): ToolItemStyle {
  if (setting !== 'auto') return setting;
  return isAiSdkUserAgent(userAgent) ? 'mcp_call' : 'function_call';
}
