/**
 * The agent's public contract: what a caller (a gateway adapter) gives it and the typed events it
 * yields while it works. Adapters render these events (SSE chunks, message edits); the agent knows
 * nothing of HTTP or chat platforms.
 */
import type { ChatMessage, SamplingSettings, ToolCall, ToolChoice, ToolSpec, Usage } from '../model/types.ts';
import type { ToolOrigin } from '../tools/types.ts';
import type { Compaction, ContextCompaction } from './context-compactor.ts';

/** Where a conversation comes from; the core system prompt tells the model which door it is behind. */
export type PlatformName =
  | 'api'
  | 'cli'
  | 'telegram'
  | 'discord'
  | 'slack'
  | 'whatsapp'
  | 'email'
  | 'dingtalk'
  | 'matrix'
  | 'mattermost';

export interface AgentInput {
  /**
   * The conversation so far in OpenAI chat format. Leading caller system/developer messages go in
   * `systemPrompts`; a `system` message here is one the caller placed later, and stays in place.
   */
  messages: ChatMessage[];
  /** Caller system/developer prompts and `instructions`, layered on top of the core prompt in order. */
  systemPrompts?: string[];
  /**
   * Send the caller's conversation to the model as given: no core prompt (`systemPrompts` become plain
   * leading system messages) and no toolset; client tools are still offered. For a frontend's background
   * request (a title, tags), which the agent's prompt and tools would only derail.
   */
  bare?: boolean;
  platform: PlatformName;
  /** A toolset name from config (`toolsets:`); defaults to the platform's default toolset. */
  toolset?: string;
  /** Per-run model settings; the upstream model id comes from config unless overridden. */
  model?: SamplingSettings & { id?: string };
  /**
   * Function tools the caller's client runs (an API request's `tools`), offered beside the toolset.
   * A model turn that calls one ends the run with finish reason `tool_calls`; the caller resumes by
   * sending the results as tool messages. Names must not clash with the toolset's (callers check).
   */
  clientTools?: ToolSpec[];
  /**
   * The caller's `tool_choice`. `none` withholds the client tools (the toolset stays available);
   * `required` and a named function apply to the first model call only, so once a tool ran the model
   * may answer in text. Default `auto`.
   */
  toolChoice?: ToolChoice;
  parallelToolCalls?: boolean;
  /**
   * Asks whoever started the run to approve a tool call the approval policy holds back (`approvals:`).
   * Absent: this door cannot ask, and such calls are refused with a tool result that says why.
   */
  approve?: ApprovalAsker;
  /** The conversation's `session` approvals, kept by the door across the conversation's runs. */
  approvalSession?: Set<string>;
  /** Guidance sent while the run works (runs API `steer`): drained before each model call. */
  steering?: () => string[];
  signal: AbortSignal;
}

/** How a person answers an approval request; `session` covers the same pattern for the conversation. */
export type ApprovalDecision = 'once' | 'session' | 'always' | 'deny';

/** A tool call the policy holds back until someone answers. */
export interface ApprovalRequest {
  id: string;
  toolCallId: string;
  tool: string;
  /** The call's raw JSON arguments. */
  arguments: string;
  /** Why it needs approval, in words for the person asked. */
  reason: string;
  /** What a `session` or `always` answer covers, e.g. `terminal:recursive-delete:rm`. */
  pattern: string;
}

/** Resolves with the answer; `signal` aborts when the run is stopped or the request timed out. */
export type ApprovalAsker = (request: ApprovalRequest, signal: AbortSignal) => Promise<ApprovalDecision>;

/** Who settled an approval request: a person, the timeout, an earlier `session`/`always` answer, or the run's end. */
export type ApprovalResolver = 'user' | 'timeout' | 'rule' | 'cancelled';

/** `tool_calls`: the run paused on calls to client tools (`done.clientToolCalls`). */
export type AgentFinishReason = 'stop' | 'length' | 'tool_calls';

/**
 * Events of one run, in order. `reasoning-delta` is the model's thinking as the upstream streams it
 * apart from the answer: shown to readers who want it, never part of `text`, the transcript or what is
 * sent upstream again (most upstreams reject or ignore reasoning in history). `usage` comes after each
 * model call; exactly one of `done` / `error` ends the stream. Both carry the messages the run appended
 * to the conversation (assistant turns with their tool calls, tool results, the final answer) so
 * callers can keep the full transcript, and, when the run compacted its context, the summary and the
 * conversation prefix it replaces.
 */
export type AgentEvent =
  | { type: 'text-delta'; text: string }
  | { type: 'reasoning-delta'; text: string }
  | {
      type: 'tool-call-start';
      toolCallId: string;
      name: string;
      arguments: string;
      label: string;
      /** Set for an MCP server's tool: the server and the tool's own name. */
      origin?: ToolOrigin;
    }
  | {
      type: 'tool-call-end';
      toolCallId: string;
      name: string;
      result: string;
      isError: boolean;
      origin?: ToolOrigin;
    }
  | { type: 'usage'; usage: Usage; total: Usage }
  | { type: 'approval-requested'; request: ApprovalRequest }
  | {
      type: 'approval-resolved';
      requestId: string;
      toolCallId: string;
      decision: ApprovalDecision;
      by: ApprovalResolver;
    }
  | {
      type: 'done';
      text: string;
      finishReason: AgentFinishReason;
      usage: Usage;
      messages: ChatMessage[];
      /**
       * With finish reason `tool_calls`: the client tool calls to hand back, in call order. The last
       * assistant message in `messages` carries them (and any toolset calls of the same turn, whose
       * results follow it); the client's results complete that turn.
       */
      clientToolCalls?: ToolCall[];
      /** Present when the run compacted its context: persist it so the next turn loads the summary. */
      compaction?: ContextCompaction;
    }
  | {
      type: 'error';
      /** A `ModelError`, a `RunAbortedError`, or an unexpected Error. */
      error: Error;
      /** Text streamed before the failure. */
      text: string;
      usage: Usage;
      messages: ChatMessage[];
      compaction?: ContextCompaction;
    };

/** A conversation to compact on request (`POST /v1/responses/compact`). */
export interface CompactInput {
  messages: ChatMessage[];
  /** The upstream model id; default: the configured `model.model`. */
  model?: string;
  signal: AbortSignal;
}

export interface AgentRunner {
  run(input: AgentInput): AsyncIterable<AgentEvent>;
  /**
   * Summarises all but the last turn of `messages` with the model; undefined when there is nothing
   * before the last turn. Runners that cannot compact leave it out.
   */
  compact?(input: CompactInput): Promise<Compaction | undefined>;
}

/** The event that ends a run: exactly one per run. */
export type AgentEndEvent = Extract<AgentEvent, { type: 'done' } | { type: 'error' }>;

/**
 * What `Agent.run` returns: the run's events as a push stream (they queue while the consumer is busy;
 * leaving the loop early cancels the run) and, for callers that only want the outcome, `result`, which
 * resolves with the ending `done`/`error` event and never rejects.
 */
export interface AgentRun extends AsyncIterable<AgentEvent> {
  readonly result: Promise<AgentEndEvent>;
}
