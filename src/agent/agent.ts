/**
 * The agent loop: one run takes a conversation, streams an assistant turn from the model, runs the
 * tools it asks for (concurrently), feeds the results back and repeats until the model answers without
 * tools, calls a tool the client declared (the run then pauses and hands the calls back), the step
 * limit is reached, the run fails or it is cancelled. Everything it does is reported as
 * `AgentEvent`s on a push stream. It knows nothing of HTTP or chat platforms, does not retry upstream
 * calls (the model client does) and does not store transcripts (callers persist `done.messages`).
 */
import { mkdir } from 'node:fs/promises';
import { type HeraldConfig, heraldPaths } from '../config/index.ts';
import type { Logger } from '../logger.ts';
import {
  addUsage,
  type ChatMessage,
  type ModelClient,
  ModelError,
  type ModelFinishReason,
  type ModelRequest,
  RunAbortedError,
  type ToolCall,
  type Usage,
  zeroUsage,
} from '../model/index.ts';
import { type AnyTool, type ToolContext, type ToolRegistry, toolSpec } from '../tools/index.ts';
import { AbortableWaits, abortError } from './abort.ts';
import { type ApprovalRuleStore, createApprovalGate, memoryApprovalRules } from './approval-gate.ts';
import { ApprovalPolicy } from './approval-policy.ts';
import {
  type Compaction,
  type ContextCompaction,
  ContextCompactor,
  foldCompaction,
} from './context-compactor.ts';
import { buildSystemPrompt } from './core-prompt.ts';
import { defaultToolsetFor } from './default-toolset.ts';
import { executeToolCalls, refuseTruncatedToolCalls, type ToolCallResult } from './execute-tool-calls.ts';
import { RunStream } from './run-stream.ts';
import type {
  AgentEvent,
  AgentFinishReason,
  AgentInput,
  AgentRun,
  AgentRunner,
  CompactInput,
} from './types.ts';

export interface AgentOptions {
  model: ModelClient;
  tools: ToolRegistry;
  config: HeraldConfig;
  logger?: Logger;
  /** The clock the core prompt's date comes from (tests pin it). */
  now?: () => Date;
  /** Where `always` approval answers are kept; default: in memory. */
  approvalRules?: ApprovalRuleStore;
}

/** What a run needs once its input is resolved against config. */
interface RunSetup {
  request: Omit<ModelRequest, 'messages'>;
  tools: ReadonlyMap<string, AnyTool>;
  /** The client's tools offered in this run: a call to one of them ends the run. */
  clientToolNames: ReadonlySet<string>;
  cwd: string;
  toolset: string;
}

/** The run's growing state; `appended` is what `done`/`error` hand back as the transcript. */
interface RunState {
  context: ChatMessage[];
  appended: ChatMessage[];
  /** Every text delta emitted so far, concatenated: `done.text` equals what a streaming reader saw. */
  text: string;
  /** Text of the assistant turn being streamed, kept so a failed turn's partial answer is not lost. */
  turnText: string;
  usage: Usage;
  modelCalls: number;
  /** The upstream's prompt-token count of the last model call and how many context messages it covered. */
  observed?: { messages: number; promptTokens: number };
  /** Set once the context was compacted; reported with `done`/`error` so callers can persist it. */
  compaction?: ContextCompaction;
}

/** One finished assistant turn. */
interface AssistantTurn {
  text: string;
  toolCalls: ToolCall[];
  finishReason: ModelFinishReason;
}

export class Agent implements AgentRunner {
  readonly #model: ModelClient;
  readonly #tools: ToolRegistry;
  readonly #config: HeraldConfig;
  readonly #logger: Logger | undefined;
  readonly #now: () => Date;
  readonly #compactor: ContextCompactor;
  readonly #policy: ApprovalPolicy;
  readonly #approvalRules: ApprovalRuleStore;
  /** Where tools work. loadConfig always fills `agent.workspace`; a config built from the bare schema may not. */
  readonly #workspace: string;

  constructor(options: AgentOptions) {
    this.#model = options.model;
    this.#tools = options.tools;
    this.#config = options.config;
    this.#logger = options.logger;
    this.#now = options.now ?? (() => new Date());
    this.#compactor = new ContextCompactor({
      model: options.model,
      contextWindow: options.config.model.context_window,
    });
    this.#policy = new ApprovalPolicy(options.config.approvals);
    this.#approvalRules = options.approvalRules ?? memoryApprovalRules();
    this.#workspace = options.config.agent.workspace ?? heraldPaths(options.config.home).workspace;
  }

  /**
   * Starts a run and returns its event stream at once. The run proceeds whether or not the stream is
   * read; leaving the `for await` early or aborting `input.signal` cancels it.
   */
  run(input: AgentInput): AgentRun {
    // One controller that follows the caller's signal, rather than AbortSignal.any: composite signals
    // were a measurable cost per run. The listener on the caller's (often long-lived) signal is removed
    // when the run ends.
    const cancel = new AbortController();
    const stream = new RunStream(() =>
      cancel.abort(new RunAbortedError('The run was cancelled by its reader.')),
    );
    const follow = (): void => cancel.abort(input.signal.reason);
    if (input.signal.aborted) follow();
    else input.signal.addEventListener('abort', follow, { once: true });
    void this.#loop(input, cancel.signal, (event) => stream.push(event)).finally(() =>
      input.signal.removeEventListener('abort', follow),
    );
    return stream;
  }

  compact(input: CompactInput): Promise<Compaction | undefined> {
    const request = {
      model: input.model ?? this.#config.model.model ?? '',
      maxTokens: this.#config.model.max_tokens,
    };
    return this.#compactor.compact(input.messages, request, { signal: input.signal, force: true });
  }

  /** The loop itself; every exit is here and each one emits exactly one `done` or `error`. Never rejects. */
  async #loop(input: AgentInput, signal: AbortSignal, emit: (event: AgentEvent) => void): Promise<void> {
    const state: RunState = {
      context: [],
      appended: [],
      text: '',
      turnText: '',
      usage: zeroUsage(),
      modelCalls: 0,
    };
    const maxIterations = this.#config.agent.max_iterations;
    try {
      const setup = this.#prepare(input);
      state.context = input.bare
        ? [
            ...(input.systemPrompts ?? []).map((content): ChatMessage => ({ role: 'system', content })),
            ...input.messages,
          ]
        : [this.#systemMessage(input, setup.cwd), ...input.messages];
      this.#logger?.debug(
        { event: 'agent.run.start', platform: input.platform, toolset: setup.toolset },
        'agent run',
      );

      for (let step = 1; step <= maxIterations; step++) {
        if (signal.aborted) throw abortError(signal);
        for (const guidance of input.steering?.() ?? []) append(state, { role: 'user', content: guidance });
        await this.#compactContext(setup, state, signal, emit);
        const turn = await this.#streamAssistantTurn(setup, state, signal, emit);

        if (turn.toolCalls.length === 0) {
          append(state, { role: 'assistant', content: turn.text });
          return this.#finish(state, turn.finishReason === 'length' ? 'length' : 'stop', emit);
        }

        if (turn.finishReason === 'length') {
          appendToolRound(state, turn, refuseTruncatedToolCalls(turn.toolCalls, emit));
          continue;
        }
        // Calls to the client's tools pause the run; the toolset's calls of the same turn run first.
        const clientCalls = turn.toolCalls.filter((call) => setup.clientToolNames.has(call.name));
        const ownCalls = turn.toolCalls.filter((call) => !setup.clientToolNames.has(call.name));
        const results =
          ownCalls.length === 0
            ? []
            : await ensureWorkspace(setup.cwd).then(() =>
                executeToolCalls(
                  ownCalls,
                  setup.tools,
                  toolContext(this.#config, setup, signal),
                  emit,
                  this.#approvalGate(input, setup, signal, emit),
                ),
              );
        appendToolRound(state, turn, results);
        if (this.#config.model.supports_images) showToolImages(state, results);
        if (signal.aborted) throw abortError(signal);
        if (clientCalls.length > 0) return this.#finish(state, 'tool_calls', emit, clientCalls);
        // A forced choice (`required`, a named function) is met once a tool ran.
        setup.request.toolChoice = undefined;
      }

      const note =
        `I stopped after ${maxIterations} steps without finishing the task (the limit is agent.max_iterations). ` +
        'Ask me to continue, or give a narrower task.';
      emitText(state, note, emit);
      append(state, { role: 'assistant', content: note });
      state.turnText = '';
      return this.#finish(state, 'length', emit);
    } catch (caught) {
      this.#fail(state, caught, signal, emit);
    }
  }

  /** Resolves the input against config: which tools, which upstream model, where tools work. */
  #prepare(input: AgentInput): RunSetup {
    const toolset = input.toolset ?? defaultToolsetFor(input.platform);
    const tools = new Map(
      input.bare ? [] : this.#tools.toolset(toolset).map((tool) => [tool.name, tool] as const),
    );
    const clientTools = input.toolChoice === 'none' ? [] : (input.clientTools ?? []);
    const clash = clientTools.find((tool) => tools.has(tool.name));
    // Callers reject clashes with a 400; one reaching the loop could not be told apart from our own tool.
    if (clash)
      throw new Error(`The client tool "${clash.name}" has the name of a tool in toolset ${toolset}.`);
    const specs = [...[...tools.values()].map(toolSpec), ...clientTools];
    // An empty id falls back to config in the model client, which reports a missing model itself.
    const { id, ...sampling } = input.model ?? {};
    const model = id ?? this.#config.model.model ?? '';
    return {
      toolset,
      tools,
      clientToolNames: new Set(clientTools.map((tool) => tool.name)),
      cwd: this.#workspace,
      request: {
        model,
        tools: specs.length > 0 ? specs : undefined,
        // `none` only withholds the client's tools: the agent keeps its own.
        toolChoice: input.toolChoice === 'none' ? undefined : input.toolChoice,
        parallelToolCalls: input.parallelToolCalls,
        ...sampling,
        maxTokens: sampling.maxTokens ?? this.#config.model.max_tokens,
      },
    };
  }

  #approvalGate(input: AgentInput, setup: RunSetup, signal: AbortSignal, emit: (event: AgentEvent) => void) {
    return createApprovalGate({
      policy: this.#policy,
      rules: this.#approvalRules,
      approve: input.approve,
      session: input.approvalSession,
      timeoutMs: this.#config.approvals.timeout_s * 1000,
      toolset: setup.toolset,
      cwd: setup.cwd,
      signal,
      emit,
      logger: this.#logger,
    });
  }

  /** The single system message: the core prompt, the operator's prompt, then the caller's layers. */
  #systemMessage(input: AgentInput, cwd: string): ChatMessage {
    const content = buildSystemPrompt({
      platform: input.platform,
      cwd,
      now: this.#now(),
      extra: this.#config.agent.system_prompt,
      layers: input.systemPrompts ?? [],
    });
    return { role: 'system', content };
  }

  /** Summarises older turns when the context nears the model's window (see context-compactor.ts). */
  async #compactContext(
    setup: RunSetup,
    state: RunState,
    signal: AbortSignal,
    emit: (event: AgentEvent) => void,
  ): Promise<void> {
    const compacted = await this.#compactor.compact(state.context, setup.request, {
      signal,
      observed: state.observed,
    });
    if (!compacted) return;
    this.#logger?.info(
      { event: 'agent.context_compacted', summarised: compacted.summarised, usage: compacted.usage },
      'context compacted',
    );
    state.context = compacted.messages;
    state.observed = undefined;
    state.compaction = foldCompaction(state.compaction, compacted);
    state.usage = addUsage(state.usage, compacted.usage);
    emit({ type: 'usage', usage: compacted.usage, total: state.usage });
  }

  /**
   * Streams one model call, passing text and reasoning on as they arrive, and returns the finished
   * turn. The loop stops waiting the moment the run aborts, even if the model client is slow to notice.
   */
  async #streamAssistantTurn(
    setup: RunSetup,
    state: RunState,
    signal: AbortSignal,
    emit: (event: AgentEvent) => void,
  ): Promise<AssistantTurn> {
    state.turnText = '';
    state.modelCalls++;
    const deltas = this.#model
      .stream({ ...setup.request, messages: [...state.context] }, signal)
      [Symbol.asyncIterator]();
    const waits = new AbortableWaits(signal);
    try {
      for (;;) {
        const next = await waits.wait(deltas.next());
        if (next.done) {
          throw new ModelError(
            'upstream_stream_cut',
            'The model stream ended before the model finished its turn.',
          );
        }
        const delta = next.value;
        switch (delta.type) {
          case 'text':
            emitText(state, delta.text, emit);
            break;
          case 'reasoning':
            // Shown, not kept: the transcript holds answers and tool calls only (see AgentEvent).
            if (delta.text) emit({ type: 'reasoning-delta', text: delta.text });
            break;
          case 'tool-call-delta':
            // Tool calls are announced once complete (the `finish` delta); fragments are not events.
            break;
          case 'finish':
            state.usage = addUsage(state.usage, delta.usage);
            state.observed = delta.usage.estimated
              ? undefined
              : { messages: state.context.length, promptTokens: delta.usage.promptTokens };
            emit({ type: 'usage', usage: delta.usage, total: state.usage });
            return {
              text: state.turnText,
              toolCalls: delta.toolCalls,
              finishReason: delta.finishReason,
            };
          default:
            throw new Error(`Unknown model delta: ${JSON.stringify(delta satisfies never)}`);
        }
      }
    } finally {
      waits.dispose();
      // Closes the upstream stream on every exit; on abort the call may still be pending, so don't wait.
      deltas.return?.().catch(() => {});
    }
  }

  #finish(
    state: RunState,
    finishReason: AgentFinishReason,
    emit: (event: AgentEvent) => void,
    clientToolCalls?: ToolCall[],
  ): void {
    this.#logger?.debug(
      { event: 'agent.run.done', finishReason, modelCalls: state.modelCalls, usage: state.usage },
      'agent run done',
    );
    emit({
      type: 'done',
      text: state.text,
      finishReason,
      usage: state.usage,
      messages: state.appended,
      ...(clientToolCalls ? { clientToolCalls } : {}),
      ...(state.compaction ? { compaction: state.compaction } : {}),
    });
  }

  /** Ends the run with an `error` event; the partial answer of an interrupted turn is kept in the transcript. */
  #fail(state: RunState, caught: unknown, signal: AbortSignal, emit: (event: AgentEvent) => void): void {
    const error = signal.aborted
      ? abortError(signal)
      : caught instanceof Error
        ? caught
        : new Error(`Agent run failed: ${String(caught)}`);
    if (state.turnText) append(state, { role: 'assistant', content: state.turnText });
    const code = (error as { code?: unknown }).code;
    this.#logger?.debug(
      { event: 'agent.run.error', code, modelCalls: state.modelCalls, usage: state.usage },
      'agent run failed',
    );
    emit({
      type: 'error',
      error,
      text: state.text,
      usage: state.usage,
      messages: state.appended,
      ...(state.compaction ? { compaction: state.compaction } : {}),
    });
  }
}

function append(state: RunState, message: ChatMessage): void {
  state.context.push(message);
  state.appended.push(message);
}

/**
 * Records a tool round: the assistant turn with its calls, then one tool message per call, in call
 * order — the shape the upstream requires before the next model call.
 */
function appendToolRound(state: RunState, turn: AssistantTurn, results: ToolCallResult[]): void {
  append(state, { role: 'assistant', content: turn.text || null, toolCalls: turn.toolCalls });
  for (const result of results)
    append(state, { role: 'tool', toolCallId: result.toolCallId, content: result.output });
  state.turnText = '';
}

/**
 * Shows the model the images its tools returned. Chat-format tool messages carry text only, so the
 * images follow the round as a user message. It joins the model's context for the rest of this run but
 * not the transcript: it is no turn of the person's, and session matching counts user turns.
 */
function showToolImages(state: RunState, results: ToolCallResult[]): void {
  const withImages = results.filter((result) => result.images?.length);
  if (withImages.length === 0) return;
  state.context.push({
    role: 'user',
    content: [
      {
        type: 'text',
        text: `Images returned by the tool calls above (${withImages.map((r) => r.name).join(', ')}):`,
      },
      ...withImages.flatMap((result) =>
        (result.images ?? []).map((image) => ({
          type: 'image_url' as const,
          image_url: { url: `data:${image.mimeType};base64,${image.data}` },
        })),
      ),
    ],
  });
}

/**
 * Emits text. The first text of a turn is separated from an earlier turn's text by a paragraph break,
 * so "Let me check." and the later answer do not run together for a reader of the stream.
 */
function emitText(state: RunState, text: string, emit: (event: AgentEvent) => void): void {
  if (!text) return;
  if (state.turnText === '' && state.text && !state.text.endsWith('\n\n')) {
    const separator = state.text.endsWith('\n') ? '\n' : '\n\n';
    state.text += separator;
    emit({ type: 'text-delta', text: separator });
  }
  state.turnText += text;
  state.text += text;
  emit({ type: 'text-delta', text });
}

/**
 * Tools run in the workspace; a fresh HERALD_HOME has none yet, and a missing cwd breaks every spawn.
 * Created before each tool round rather than at the start of every run: most API runs call no tool,
 * and a mkdir per request was measurable on the hot path.
 */
async function ensureWorkspace(cwd: string): Promise<void> {
  await mkdir(cwd, { recursive: true });
}

function toolContext(config: HeraldConfig, setup: RunSetup, signal: AbortSignal): ToolContext {
  return { signal, cwd: setup.cwd, home: config.home, config: config.tools };
}
