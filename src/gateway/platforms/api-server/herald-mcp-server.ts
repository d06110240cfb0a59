/**
 * Herald's agent as an MCP server, for MCP clients (desktop apps, IDEs, other agents): `send_message`
 * runs one turn of the Responses API pipeline (same validation, queueing, storage and conversations
 * as `POST /v1/responses`) and answers with the agent's text, sending `notifications/progress` while
 * tools run when the client asked for progress; `list_conversations` and `read_conversation` show the
 * caller's stored conversations. Every call acts as one `ApiCaller`, so ownership is the API's: over
 * HTTP the key the request authenticated with, over stdio the local owner. It does not authenticate
 * (the API server's hook does) and knows no transport.
 */
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { z } from 'zod';
import type { ResponseItem, ResponseStore, StoredConversation } from '../../../store/index.ts';
import type { ApiCaller } from './api-caller.ts';
import { DEFAULT_PROFILE_ID } from './profiles.ts';
import type { ResponseTurns } from './responses-routes.ts';
import type { ResponseStreamEvent } from './responses-stream.ts';

export interface HeraldMcpServerOptions {
  turns: ResponseTurns;
  store: ResponseStore;
  caller: ApiCaller;
  version: string;
}

const textResult = (text: string, structured?: Record<string, unknown>): CallToolResult => ({
  content: [{ type: 'text', text }],
  ...(structured ? { structuredContent: structured } : {}),
});

const errorResult = (text: string): CallToolResult => ({ content: [{ type: 'text', text }], isError: true });

export function createHeraldMcpServer(options: HeraldMcpServerOptions): McpServer {
  const { turns, store, caller } = options;
  const server = new McpServer({ name: 'herald', version: options.version });

  /** The caller's conversation by id, or by name (created on first use, as `conversation: "name"` does). */
  async function findConversation(ref: string): Promise<StoredConversation | undefined> {
    if (ref.startsWith('conv_')) {
      const conversation = await store.getConversation(ref);
      return conversation?.owner === caller.owner ? conversation : undefined;
    }
    return store.conversationByName(ref, caller.owner);
  }

  server.registerTool(
    'send_message',
    {
      description:
        "Send a message to Herald's agent and get its answer. The agent may use its own tools (shell, files, web, MCP) " +
        'before answering. Give `conversation` (a name such as "work", or a conv_… id) to continue a conversation.',
      inputSchema: {
        message: z.string().min(1).describe('The message to the agent.'),
        conversation: z
          .string()
          .min(1)
          .optional()
          .describe('Conversation name or conv_… id; omitted = a one-off exchange.'),
        model: z.string().optional().describe(`Agent profile (default "${DEFAULT_PROFILE_ID}").`),
      },
    },
    async ({ message, conversation, model }, extra) => {
      const body = {
        model: model ?? DEFAULT_PROFILE_ID,
        input: message,
        store: true,
        ...(conversation ? { conversation } : {}),
      };
      let prepared: Awaited<ReturnType<ResponseTurns['prepare']>>;
      try {
        prepared = await turns.prepare(body, store, caller);
      } catch (error) {
        return errorResult(error instanceof Error ? error.message : String(error));
      }
      const progressToken = extra._meta?.progressToken;
      let progress = 0;
      const sink = async (event: ResponseStreamEvent): Promise<void> => {
        if (progressToken === undefined) return;
        const item = event['item'] as ResponseItem | undefined;
        if (event.type !== 'response.output_item.added' || item?.type !== 'mcp_call') return;
        progress++;
        await extra.sendNotification({
          method: 'notifications/progress',
          params: {
            progressToken,
            progress,
            message: `running ${String(item['server_label'])}/${String(item['name'])}`,
          },
        });
      };
      const result = await turns.run(prepared, { open: () => sink, clientGone: extra.signal });
      const text = answerText(result.finished.output);
      const structured = {
        response_id: String(result.finished.body['id']),
        status: result.finished.status,
        ...(prepared.conversation ? { conversation_id: prepared.conversation.id } : {}),
      };
      if (result.error) return errorResult(`${text ? `${text}\n\n` : ''}Error: ${result.error.message}`);
      return textResult(text || '(no answer)', structured);
    },
  );

  server.registerTool(
    'list_conversations',
    {
      description: 'List your stored Herald conversations, newest first.',
      inputSchema: { limit: z.number().int().min(1).max(100).optional() },
    },
    async ({ limit }) => {
      const conversations = await store.listConversations(caller.owner, limit ?? 20);
      if (conversations.length === 0) return textResult('No conversations.', { conversations: [] });
      const lines = conversations.map(
        (c) => `${c.id}${c.name ? ` "${c.name}"` : ''} created ${new Date(c.createdAt * 1000).toISOString()}`,
      );
      return textResult(lines.join('\n'), {
        conversations: conversations.map((c) => ({ id: c.id, name: c.name, created_at: c.createdAt })),
      });
    },
  );

  server.registerTool(
    'read_conversation',
    {
      description: 'Read the messages of one of your Herald conversations.',
      inputSchema: { conversation: z.string().min(1).describe('Conversation name or conv_… id.') },
    },
    async ({ conversation }) => {
      const found = await findConversation(conversation);
      const items = found ? await store.conversationItems(found.id) : undefined;
      if (!found || !items) return errorResult(`No conversation "${conversation}".`);
      const lines = items.map(itemLine).filter((line) => line !== '');
      return textResult(lines.join('\n\n') || '(empty conversation)');
    },
  );

  return server;
}

/** The text of the assistant's message items in a turn's output. */
function answerText(output: readonly ResponseItem[]): string {
  return output
    .filter((item) => item.type === 'message')
    .map(messageText)
    .join('\n')
    .trim();
}

function messageText(item: ResponseItem): string {
  const content = item['content'];
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return '';
  return content.map((part: { text?: unknown }) => (typeof part.text === 'string' ? part.text : '')).join('');
}

function itemLine(item: ResponseItem): string {
  if (item.type === 'message') return `${String(item['role'])}: ${messageText(item)}`;
  if (item.type === 'mcp_call') return `[tool ${String(item['server_label'])}/${String(item['name'])}]`;
  return '';
}
