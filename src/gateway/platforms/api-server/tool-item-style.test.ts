import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isAiSdkUserAgent, resolveToolItemStyle } from './tool-item-style.ts';

// User-Agents as they really arrive (captured from ai@7 / @ai-sdk/openai@4 on Node 24, and older v5 forms).
const aiSdk7 = 'ai/7.0.173 ai-sdk-provider-utils/5.0.81 node.js/24';
const aiSdkOpenAi = 'ai-sdk-openai/4.0.118 ai-sdk-provider-utils/5.0.81 node.js/24';
const aiSdk5 = 'ai/5.0.0 ai-sdk/openai/2.0.0 ai-sdk/provider-utils/3.0.0 runtime/node.js/22';
const openaiNode = 'OpenAI/JS 6.9.1';

describe('resolveToolItemStyle', () => {
  it('recognises the AI SDK user agents, and not the openai SDK or browsers', () => {
    for (const ua of [aiSdk7, aiSdkOpenAi, aiSdk5]) assert.equal(isAiSdkUserAgent(ua), true, ua);
    for (const ua of [openaiNode, 'curl/8.5.0', 'Mozilla/5.0 (X11; Linux x86_64)', 'my-ai-sdk-app/1', '']) {
      assert.equal(isAiSdkUserAgent(ua), false, ua);
    }
    assert.equal(isAiSdkUserAgent(undefined), false);
  });

  it('auto gives the AI SDK mcp_call items and everyone else function_call items', () => {
    assert.equal(resolveToolItemStyle('auto', aiSdk7), 'mcp_call');
    assert.equal(resolveToolItemStyle('auto', openaiNode), 'function_call');
    assert.equal(resolveToolItemStyle('auto', undefined), 'function_call');
  });

  it('an explicit setting wins over the user agent', () => {
    assert.equal(resolveToolItemStyle('function_call', aiSdk7), 'function_call');
    assert.equal(resolveToolItemStyle('mcp_call', openaiNode), 'mcp_call');
  });
});
