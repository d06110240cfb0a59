/**
 * The gateway: starts and stops every platform adapter, and for chat platforms turns each inbound
 * message into an agent run whose reply streams back through a StreamConsumer. It applies access
 * control, keys conversations (platform + chat + thread [+ user in groups]), answers `/new`, `/stop`
 * and `/status`, runs one agent run per conversation at a time (later messages queue, or with
 * `gateway.interrupt_on_new_message` abort the run and start anew with everything pending), loads
 * history from the SessionStore (the latest summary and the messages after it) and appends each turn's
 * transcript after the run, with the agent's summary when it compacted older turns. An adapter that
 * fails to start is retried with exponential backoff while the others serve; `platformStates()` says
 * which are connected or retrying (for `/status`). With a store shared by replicas (`leases`), each chat
 * platform is connected by one replica at a time, the holder of its leader lease (PlatformLeader);
 * the others stand by and take over when the lease expires or is released. On stop it takes no new messages,
 * drops queued ones, gives running replies `gateway.shutdown_grace_s` to finish and aborts the rest
 * before stopping the adapters. It knows nothing of how a platform talks to its servers, nor of the
 * model or tools.
 */

import type { AgentEvent, AgentRunner, ContextCompaction } from '../agent/index.ts';
import { defaultToolsetFor, summaryMessage, summaryOf } from '../agent/index.ts';
import type { HeraldConfig } from '../config/schema.ts';
import type { Logger } from '../logger.ts';
import { ModelError, RunAbortedError } from '../model/errors.ts';
import type { ChatMessage } from '../model/types.ts';
import type { PlatformLeases, SessionStore } from '../store/index.ts';
import { AccessControl } from './access-control.ts';
import { ChatApprovals } from './chat-approvals.ts';
import { conversationKey } from './conversation-key.ts';
import { DmPolicy, type PairingDirectory } from './dm-policy.ts';
import { type GatewayCommand, helpText, parseGatewayCommand } from './gateway-command.ts';
import { PlatformLeader } from './platform-leader.ts';
import {
  type Clock,
  resolveStreamingSettings,
  StreamConsumer,
  type StreamingSettings,
  systemClock,
  type TimerHandle,
} from './streaming/index.ts';
import type { ChatPlatform, InboundMessage, PlatformAdapter, ReplyTarget } from './types.ts';

export interface GatewayRunnerOptions {
  config: HeraldConfig;
  agent: AgentRunner;
  sessions: SessionStore;
  /** Every adapter to run, the API server included; chat platforms also get their messages routed. */
  platforms: PlatformAdapter[];
  logger: Logger;
  /** Time source of the StreamConsumers and the shutdown grace (tests pass a ManualClock). */
  clock?: Clock;
  /** Backoff of an adapter that fails to start: first delay, doubled per attempt up to the max. */
  startRetry?: { initialDelayMs: number; maxDelayMs: number };
  /** Paired strangers (`dm_policy: pairing`); without it pairing acts as the allow-list. */
  pairing?: PairingDirectory;
  /** Leader leases of a store shared by replicas: chat platforms then connect on one replica at a time. */
  leases?: PlatformLeases;
}

/** Where an adapter is in its lifecycle, for `/status`: connecting, connected, or retrying after a failure. */
export interface PlatformState {
  name: string;
  state: 'connecting' | 'connected' | 'retrying' | 'standby' | 'stopped';
  /** Failed start attempts so far. */
  failures: number;
  /** The last start failure's message, while retrying. */
  lastError?: string;
  /** While standing by: the instance id of the replica that connects this platform. */
  leader?: string;
}

interface PendingMessage {
  platform: ChatPlatform;
  message: InboundMessage;
}

interface Conversation {
  queue: PendingMessage[];
  active: AbortController | undefined;
  draining: Promise<void> | undefined;
}

export function isChatPlatform(adapter: PlatformAdapter): adapter is ChatPlatform {
  const candidate = adapter as Partial<ChatPlatform>;
  return typeof candidate.onMessage === 'function' && typeof candidate.send === 'function';
}

export class GatewayRunner {
  readonly #options: GatewayRunnerOptions;
  readonly #logger: Logger;
  readonly #access: AccessControl;
  readonly #settings = new Map<string, StreamingSettings>();
  readonly #conversations = new Map<string, Conversation>();
  readonly #retryTimers = new Map<PlatformAdapter, ReturnType<typeof setTimeout>>();
  readonly #leaders = new Map<PlatformAdapter, PlatformLeader>();
  readonly #started = new Set<PlatformAdapter>();
  /** Adapters whose start() has not settled yet; stop() must reach them too (it aborts their start). */
  readonly #starting = new Set<PlatformAdapter>();
  readonly #refused = new Set<string>();
  readonly #states = new Map<string, PlatformState>();
  readonly #dmPolicy: DmPolicy;
  readonly #approvals: ChatApprovals;
  #stopping = false;

  constructor(options: GatewayRunnerOptions) {
    this.#options = options;
    this.#logger = options.logger.child({ component: 'gateway' });
    const platforms = options.config.platforms;
    const allowedUsers: Record<string, string[]> = {
      telegram: platforms.telegram.allowed_users,
      discord: platforms.discord.allowed_users,
      slack: platforms.slack.allowed_users,
      whatsapp: platforms.whatsapp.allowed_users,
      email: platforms.email.allowed_senders,
      dingtalk: platforms.dingtalk.allowed_users,
      matrix: platforms.matrix.allowed_users,
      mattermost: platforms.mattermost.allowed_users,
    };
    this.#access = new AccessControl(allowedUsers, this.#logger);
    this.#dmPolicy = new DmPolicy(options.config, options.pairing, this.#logger);
    this.#approvals = new ChatApprovals({
      isAdmin: (platform, userId) => this.#dmPolicy.isAdmin(platform, userId),
      logger: this.#logger,
    });
    // Streaming config is resolved once here, not per message.
    for (const adapter of options.platforms) {
      if (!isChatPlatform(adapter)) continue;
      this.#settings.set(
        adapter.name,
        resolveStreamingSettings(options.config, adapter.name, adapter.limits),
      );
      if (options.leases && !adapter.everyReplica)
        this.#leaders.set(adapter, this.#leaderOf(adapter, options.leases));
      const dmPolicy = (platforms as Record<string, { dm_policy?: string }>)[adapter.name]?.dm_policy;
      if ((allowedUsers[adapter.name] ?? []).length === 0 && (dmPolicy ?? 'allowlist') === 'allowlist') {
        this.#logger.warn(
          { event: 'gateway_allow_list_empty', platform: adapter.name },
          `platforms.${adapter.name}.allowed_users is empty, so the bot answers nobody; add your user id there (the id is logged when you message the bot)`,
        );
      }
    }
  }

  /** Starts every adapter; one that fails is logged and retried in the background. */
  async start(): Promise<void> {
    this.#stopping = false;
    for (const adapter of this.#options.platforms) {
      if (!isChatPlatform(adapter)) continue;
      adapter.onMessage((message) => this.#receive(adapter, message));
      this.#approvals.attach(adapter);
    }
    await Promise.all(
      this.#options.platforms.map(
        (adapter) => this.#leaders.get(adapter)?.start() ?? this.#startAdapter(adapter, 0),
      ),
    );
  }

  /** Connects `adapter` while this replica holds its lease, disconnects it when the lease is lost. */
  #leaderOf(adapter: PlatformAdapter, leases: PlatformLeases): PlatformLeader {
    const standby = (leader: string, error?: unknown): void => {
      this.#states.set(adapter.name, {
        name: adapter.name,
        state: 'standby',
        failures: 0,
        ...(leader ? { leader } : {}),
        ...(error ? { lastError: error instanceof Error ? error.message : String(error) } : {}),
      });
    };
    return new PlatformLeader({
      leases,
      platform: adapter.name,
      onElected: () => {
        if (!this.#stopping) void this.#startAdapter(adapter, 0);
      },
      onDeposed: () => this.#disconnect(adapter),
      onStandby: standby,
      logger: this.#logger,
    });
  }

  /** Whether `adapter` should be connected now: not shutting down, and its lease (if any) is this replica's. */
  #wanted(adapter: PlatformAdapter): boolean {
    return !this.#stopping && (this.#leaders.get(adapter)?.leading ?? true);
  }

  /** Stops one adapter (started, starting or waiting to retry) while the others run on. */
  async #disconnect(adapter: PlatformAdapter): Promise<void> {
    clearTimeout(this.#retryTimers.get(adapter));
    this.#retryTimers.delete(adapter);
    const active = this.#started.delete(adapter) || this.#starting.has(adapter);
    if (!active) return;
    await adapter.stop().catch((error: unknown) => {
      this.#logger.error({ event: 'gateway_platform_stop_failed', platform: adapter.name, err: error });
    });
  }

  /** Each adapter's state, in the order they were given. */
  platformStates(): PlatformState[] {
    return this.#options.platforms.map(
      (adapter) => this.#states.get(adapter.name) ?? { name: adapter.name, state: 'stopped', failures: 0 },
    );
  }

  /** Messages waiting behind a running reply, across conversations. */
  get queuedMessages(): number {
    let queued = 0;
    for (const conversation of this.#conversations.values()) queued += conversation.queue.length;
    return queued;
  }

  async #startAdapter(adapter: PlatformAdapter, attempt: number): Promise<void> {
    this.#starting.add(adapter);
    if (attempt === 0)
      this.#states.set(adapter.name, { name: adapter.name, state: 'connecting', failures: 0 });
    try {
      await adapter.start();
      this.#starting.delete(adapter);
      if (!this.#wanted(adapter)) {
        await adapter.stop();
        return;
      }
      this.#started.add(adapter);
      this.#states.set(adapter.name, { name: adapter.name, state: 'connected', failures: attempt });
      this.#logger.info(
        { event: 'gateway_platform_started', platform: adapter.name, attempt },
        'platform started',
      );
    } catch (error) {
      this.#starting.delete(adapter);
      if (!this.#wanted(adapter)) return;
      this.#states.set(adapter.name, {
        name: adapter.name,
        state: 'retrying',
        failures: attempt + 1,
        lastError: error instanceof Error ? error.message : String(error),
      });
      const { initialDelayMs, maxDelayMs } = this.#options.startRetry ?? {
        initialDelayMs: 2000,
        maxDelayMs: 300_000,
      };
      const delayMs = Math.min(initialDelayMs * 2 ** attempt, maxDelayMs);
      this.#logger.error(
        {
          event: 'gateway_platform_start_failed',
          platform: adapter.name,
          attempt,
          retryInMs: delayMs,
          err: error,
        },
        'platform failed to start; retrying',
      );
      const timer = setTimeout(() => {
        this.#retryTimers.delete(adapter);
        void this.#startAdapter(adapter, attempt + 1);
      }, delayMs);
      timer.unref();
      this.#retryTimers.set(adapter, timer);
    }
  }

  /**
   * Graceful shutdown: inbound messages are ignored from now on and queued ones dropped; running
   * replies get `gateway.shutdown_grace_s` to finish, then are aborted (their partial text stays in
   * the chat and in the history); then every adapter is stopped.
   */
  async stop(): Promise<void> {
    this.#stopping = true;
    // No claim may connect a platform from here on; the leases are given up once the platforms are off.
    const leaders = [...this.#leaders.values()];
    await Promise.all(leaders.map((leader) => leader.stop()));
    for (const timer of this.#retryTimers.values()) clearTimeout(timer);
    this.#retryTimers.clear();
    this.#dropQueued();
    const graceMs = this.#options.config.gateway.shutdown_grace_s * 1000;
    if (!(await this.#idleWithin(graceMs))) {
      const running = [...this.#conversations.values()].filter((c) => c.active);
      this.#logger.warn(
        { event: 'gateway_shutdown_abort', runs: running.length, graceMs },
        'replies still running after the shutdown grace period; aborting them',
      );
      for (const conversation of running) {
        conversation.active?.abort(new RunAbortedError('The gateway is shutting down.'));
      }
      await this.idle();
    }
    this.#states.clear();
    await Promise.all([...this.#started, ...this.#starting].map((adapter) => this.#disconnect(adapter)));
    await Promise.all(leaders.map((leader) => leader.release()));
  }

  /** Shutdown: messages waiting behind a running reply never start. */
  #dropQueued(): void {
    for (const [key, conversation] of this.#conversations) {
      if (conversation.queue.length === 0) continue;
      this.#logger.info(
        { event: 'gateway_queue_dropped', conversation: key, dropped: conversation.queue.length },
        'shutting down: queued messages dropped',
      );
      conversation.queue.length = 0;
    }
  }

  /** Waits for `idle()` at most `ms` (on the gateway's clock); true if it came first. */
  async #idleWithin(ms: number): Promise<boolean> {
    const clock = this.#options.clock ?? systemClock;
    let timer: TimerHandle | undefined;
    const expired = new Promise<false>((resolve) => {
      timer = clock.setTimeout(() => resolve(false), ms);
    });
    try {
      return await Promise.race([this.idle().then(() => true as const), expired]);
    } finally {
      if (timer !== undefined) clock.clearTimeout(timer);
    }
  }

  /** Resolves when no conversation has a run in progress or queued. */
  async idle(): Promise<void> {
    while (true) {
      const draining = [...this.#conversations.values()].flatMap((c) => (c.draining ? [c.draining] : []));
      if (draining.length === 0) return;
      await Promise.all(draining);
    }
  }

  #receive(platform: ChatPlatform, message: InboundMessage): void {
    if (this.#stopping) {
      this.#logger.debug(
        { event: 'gateway_inbound_ignored', platform: platform.name },
        'shutting down: message ignored',
      );
      return;
    }
    void this.#dispatch(platform, message).catch((error: unknown) => {
      this.#logger.error({ event: 'gateway_dispatch_failed', platform: platform.name, err: error });
    });
  }

  async #dispatch(platform: ChatPlatform, message: InboundMessage): Promise<void> {
    const verdict = this.#access.check(message);
    if (verdict === 'not-addressed') return;
    const target = replyTarget(message);
    const stranger = verdict === 'not-allowed' ? await this.#dmPolicy.judge(message) : undefined;
    if (stranger?.verdict === 'reply') {
      await platform.send(target, stranger.text, { replyToInbound: true });
      const { code } = stranger.pairing;
      await this.#approvals.offerPairing(
        platform,
        this.#dmPolicy.adminsOf(platform.name),
        stranger.pairing,
        (approve) => this.#dmPolicy.settlePairing(code, approve),
      );
      return;
    }
    if (stranger?.verdict === 'ignore') return;
    if (stranger?.verdict === 'refuse') {
      const who = `${message.platform}:${message.userId}`;
      if (message.isPrivate && !platform.silentRefusals && !this.#refused.has(who)) {
        this.#refused.add(who);
        await platform.send(
          target,
          `Sorry, I only answer people on my allow-list. Your ${message.platform} user id is ${message.userId}.`,
          { replyToInbound: true },
        );
      }
      return;
    }
    const key = conversationKey(message);
    const command = parseGatewayCommand(message.text);
    if (command) {
      await this.#command(command, platform, message, key);
      return;
    }
    if (!message.text.trim()) return;
    const conversation = this.#conversation(key);
    conversation.queue.push({ platform, message });
    if (conversation.active && this.#options.config.gateway.interrupt_on_new_message) {
      conversation.active.abort(new RunAbortedError('Interrupted by a new message.'));
    }
    if (!conversation.draining) {
      conversation.draining = this.#drain(key, conversation).finally(() => {
        conversation.draining = undefined;
        if (conversation.queue.length === 0) this.#conversations.delete(key);
      });
    }
  }

  #conversation(key: string): Conversation {
    let conversation = this.#conversations.get(key);
    if (!conversation) {
      conversation = { queue: [], active: undefined, draining: undefined };
      this.#conversations.set(key, conversation);
    }
    return conversation;
  }

  /** Runs the conversation's queued messages one after another. */
  async #drain(key: string, conversation: Conversation): Promise<void> {
    while (conversation.queue.length > 0) {
      // After an interruption, everything the user sent meanwhile becomes one turn.
      const batch = this.#options.config.gateway.interrupt_on_new_message
        ? conversation.queue.splice(0)
        : conversation.queue.splice(0, 1);
      const last = batch[batch.length - 1]!;
      const message = { ...last.message, text: batch.map((pending) => pending.message.text).join('\n\n') };
      const controller = new AbortController();
      conversation.active = controller;
      try {
        await this.#run(last.platform, key, message, controller.signal);
      } catch (error) {
        this.#logger.error(
          { event: 'gateway_run_failed', platform: message.platform, err: error },
          'run failed',
        );
      } finally {
        conversation.active = undefined;
      }
    }
  }

  /** One agent run: history in, reply streamed out, transcript appended. */
  async #run(
    platform: ChatPlatform,
    key: string,
    message: InboundMessage,
    signal: AbortSignal,
  ): Promise<void> {
    const { config, agent, sessions } = this.#options;
    const target = replyTarget(message);
    const history = trimToUserTurn(await sessions.load(key, config.gateway.history_max_messages));
    const userMessage: ChatMessage = { role: 'user', content: message.text };
    const consumer = new StreamConsumer({
      platform,
      target,
      settings: this.#settings.get(platform.name)!,
      ...(this.#options.clock ? { clock: this.#options.clock } : {}),
      logger: this.#logger,
    });
    consumer.start();
    let appended: ChatMessage[] = [];
    let compaction: ContextCompaction | undefined;
    let failure: Error | undefined;
    const started = Date.now();
    try {
      const approve = this.#approvals.askerFor(platform, target, message.userId);
      for await (const event of agent.run({
        messages: [...history, userMessage],
        platform: platform.name,
        ...(approve ? { approve, approvalSession: this.#approvals.sessionFor(key) } : {}),
        signal,
      })) {
        const outcome = this.#render(event, consumer);
        if (outcome) ({ appended, failure, compaction } = outcome);
      }
    } catch (error) {
      failure = error instanceof Error ? error : new Error(String(error));
    }
    try {
      await consumer.finish();
    } catch (error) {
      this.#logger.error(
        { event: 'gateway_reply_failed', platform: platform.name, err: error },
        'reply failed',
      );
    }
    await sessions.append(key, [userMessage, ...appended]);
    if (compaction) {
      // The summary stands for a prefix of what the run saw; the rest is the newest stored messages.
      const conversation = history.length + 1 + appended.length;
      await sessions.compact(key, summaryMessage(compaction.summary), conversation - compaction.replaces);
    }
    const aborted = signal.aborted || failure instanceof RunAbortedError;
    this.#logger.info(
      {
        event: 'gateway_run',
        platform: platform.name,
        outcome: failure ? (aborted ? 'aborted' : 'error') : 'done',
        code: (failure as { code?: unknown } | undefined)?.code,
        durationMs: Date.now() - started,
      },
      'gateway run',
    );
    if (failure && !aborted) {
      await platform.send(target, errorText(failure), { replyToInbound: false }).catch((error: unknown) => {
        this.#logger.error({ event: 'gateway_error_reply_failed', err: error });
      });
    }
  }

  /** Feeds one agent event to the consumer; returns the transcript when the run ends. */
  #render(
    event: AgentEvent,
    consumer: StreamConsumer,
  ):
    | { appended: ChatMessage[]; failure: Error | undefined; compaction: ContextCompaction | undefined }
    | undefined {
    switch (event.type) {
      case 'text-delta':
        consumer.pushText(event.text);
        return undefined;
      case 'tool-call-start':
        consumer.toolStarted(event.label);
        return undefined;
      // Chat messages carry the answer and tool status lines; the model's thinking is not shown there.
      case 'reasoning-delta':
      case 'tool-call-end':
      case 'usage':
      case 'approval-requested':
      case 'approval-resolved':
        return undefined;
      case 'done':
        return { appended: event.messages, failure: undefined, compaction: event.compaction };
      case 'error':
        return { appended: event.messages, failure: event.error, compaction: event.compaction };
      default: {
        const unknown: never = event;
        throw new Error(`Unknown agent event: ${JSON.stringify(unknown)}`);
      }
    }
  }

  async #command(
    command: GatewayCommand,
    platform: ChatPlatform,
    message: InboundMessage,
    key: string,
  ): Promise<void> {
    const target = replyTarget(message);
    const reply = (text: string) => platform.send(target, text, { replyToInbound: true });
    const conversation = this.#conversations.get(key);
    switch (command) {
      case 'start':
      case 'help':
        await reply(helpText);
        return;
      case 'stop': {
        if (!conversation?.active) {
          await reply('Nothing to stop.');
          return;
        }
        await cancel(conversation, 'Stopped by the user.');
        await reply('Stopped.');
        return;
      }
      case 'new': {
        if (conversation) await cancel(conversation, 'A new conversation was started.');
        await this.#options.sessions.reset(key);
        this.#approvals.forget(key);
        await reply('Started a new conversation.');
        return;
      }
      case 'status': {
        const size = await this.#options.sessions.count(key);
        const model = this.#options.config.model.model ?? '(not configured)';
        const lines = [
          `Model: ${model}`,
          `Toolset: ${defaultToolsetFor(platform.name)}`,
          `Conversation: ${size} message${size === 1 ? '' : 's'}`,
        ];
        if (conversation?.active) lines.push('A reply is in progress (/stop to abort it).');
        await reply(lines.join('\n'));
        return;
      }
      default:
        throw new Error(`Unknown command: ${String(command satisfies never)}`);
    }
  }
}

/** Drops the conversation's queued messages and aborts its running reply; resolves once it is idle. */
async function cancel(conversation: Conversation, reason: string): Promise<void> {
  conversation.queue.length = 0;
  conversation.active?.abort(new RunAbortedError(reason));
  await conversation.draining;
}

function replyTarget(message: InboundMessage): ReplyTarget {
  return {
    chatId: message.chatId,
    ...(message.threadId !== undefined ? { threadId: message.threadId } : {}),
    inboundMessageId: message.messageId,
    userId: message.userId,
    isPrivate: message.isPrivate,
  };
}

/**
 * History cut by the message limit may start mid tool round; the upstream needs it to start at a user
 * turn. A stored summary is that user turn: after it, only tool results cut off from their call go.
 */
function trimToUserTurn(history: ChatMessage[]): ChatMessage[] {
  if (history[0] && summaryOf(history[0]) !== undefined) {
    const rest = history.slice(1);
    const start = rest.findIndex((message) => message.role !== 'tool');
    return [history[0], ...(start === -1 ? [] : rest.slice(start))];
  }
  const first = history.findIndex((message) => message.role === 'user');
  return first === -1 ? [] : history.slice(first);
}

function errorText(error: Error): string {
  if (error instanceof ModelError) return `⚠ ${error.message}`;
  return '⚠ Something went wrong while answering. Please try again.';
}
