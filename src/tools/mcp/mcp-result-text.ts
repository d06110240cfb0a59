/**
 * Turns an MCP `tools/call` result into the text a tool message carries. Chat-format tool messages
 * are text only, so an image or audio block becomes a one-line note of its type and size (the MCP tool
 * hands images on separately, for models that take them); embedded resources show their text, resource links their URI, and
 * `structuredContent` is appended as JSON when the server sent no text block repeating it. The whole is
 * capped like the terminal tool's output (head and tail kept). It does not decide whether the result
 * is an error (the caller reads `isError`).
 */
import type { CallToolResult, ContentBlock } from '@modelcontextprotocol/sdk/types.js';
import { HeadTailBuffer } from '../head-tail-buffer.ts';

/** Bytes a base64 string decodes to. */
function base64Bytes(data: string): number {
  const padding = data.endsWith('==') ? 2 : data.endsWith('=') ? 1 : 0;
  return Math.max(0, Math.floor((data.length * 3) / 4) - padding);
}

function blockText(block: ContentBlock): string {
  switch (block.type) {
    case 'text':
      return block.text;
    case 'image':
    case 'audio':
      return `[${block.type}: ${block.mimeType}, ${base64Bytes(block.data)} bytes]`;
    case 'resource': {
      const { resource } = block;
      if ('text' in resource) return `[resource ${resource.uri}]\n${resource.text}`;
      return `[resource ${resource.uri}: ${resource.mimeType ?? 'binary'}, ${base64Bytes(resource.blob)} bytes]`;
    }
    case 'resource_link':
      return `[resource link: ${block.uri}${block.name ? ` (${block.name})` : ''}${block.mimeType ? `, ${block.mimeType}` : ''}]`;
    default:
      return `[${(block as { type: string }).type} content]`;
  }
}

function sameJson(text: string, json: string): boolean {
  try {
    return JSON.stringify(JSON.parse(text)) === json;
  } catch {
    return false;
  }
}

export function mcpResultText(result: CallToolResult, maxChars: number): string {
  const parts = result.content.map(blockText);
  if (result.structuredContent !== undefined) {
    const json = JSON.stringify(result.structuredContent);
    // Servers are asked to repeat structured content as a text block; do not show it twice.
    if (!parts.some((part) => sameJson(part, json))) {
      parts.push(JSON.stringify(result.structuredContent, null, 2));
    }
  }
  const text = parts.join('\n');
  if (text.length <= maxChars) return text === '' ? '(no output)' : text;
  const buffer = new HeadTailBuffer(maxChars);
  buffer.push(text);
  return buffer.toString();
}
