/**
 * The core system prompt and how caller prompts are layered on top of it. Every run sends exactly one
 * `system` message built here: Herald's identity, today's date, the working directory and the door the
 * conversation comes through, then the operator's `agent.system_prompt`, then each caller prompt in its
 * own delimited block. Callers add to the core; nothing they send can replace or reorder it. This module
 * only builds text: it does not read config or decide which prompts apply.
 */
import type { PlatformName } from './types.ts';

export interface SystemPromptOptions {
  platform: PlatformName;
  /** The tools' working directory. */
  cwd: string;
  now: Date;
  /** The operator's `agent.system_prompt` (or a profile's), placed after the core. */
  extra?: string;
  /** Caller system/developer prompts, in the order they were given. */
  layers: string[];
}

/** What each door implies for the shape of an answer; the model cannot see the door otherwise. */
const platformGuidance: Record<PlatformName, string> = {
  api:
    'You are reached through an OpenAI-compatible HTTP API. The client may be a chat UI, an editor or a ' +
    'program; answer in Markdown unless the conversation asks for another format.',
  cli:
    "You are reached through Herald's command line in a terminal. Keep answers plain and compact; " +
    'Markdown is shown as raw text.',
  telegram:
    'You are reached through Telegram, a chat app often read on a phone. Keep messages short and ' +
    'conversational; use only simple Markdown (bold, italic, inline code, code blocks, links) — no tables or headings.',
  discord:
    'You are reached through Discord, a chat app. Keep messages short; Discord renders Markdown ' +
    '(bold, italic, lists, code blocks) but not tables.',
  slack:
    'You are reached through Slack, a work chat app. Keep messages short; Slack renders its own mrkdwn ' +
    '(*bold*, _italic_, `code`, code blocks, lists), not tables or headings.',
  matrix:
    'You are reached through Matrix (e.g. Element), a chat network. Keep messages short; Markdown ' +
    '(bold, italic, lists, code blocks, links, tables) is rendered as HTML.',
  mattermost:
    'You are reached through Mattermost, a work chat app. Keep messages short; Mattermost renders ' +
    'Markdown (bold, italic, lists, code blocks, links, tables).',
  whatsapp:
    'You are reached through WhatsApp, a chat app read on a phone. Keep messages short; only *bold*, ' +
    '_italic_ and ```monospace``` render — no headings, tables or links in Markdown syntax.',
  email:
    'You are reached by email. Your reply is sent as one plain-text email when you finish, so write a ' +
    'complete, self-contained answer in plain text (no Markdown tables); do not add a greeting line or signature ' +
    'unless asked. Earlier mails of the thread are in the conversation; quoted text has been removed.',
  dingtalk:
    'You are reached through DingTalk, a work chat app. Keep messages short; DingTalk renders simple Markdown ' +
    '(headings, bold, lists, links, code blocks) but tables poorly.',
};

/** Formats the date as the model should read it: unambiguous, in UTC, without a clock time to go stale. */
function formatDate(now: Date): string {
  // A table, not toLocaleDateString: that builds an Intl formatter per call (~0.3 ms on every run).
  const weekday = WEEKDAYS[now.getUTCDay()];
  return `${weekday}, ${now.toISOString().slice(0, 10)} (UTC)`;
}

const WEEKDAYS = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'] as const;

/** The part of the prompt that is always there, whatever the operator or caller adds. */
function corePrompt(options: SystemPromptOptions): string {
  return [
    'You are Herald, a tool-using AI agent. You help by answering directly when you can and by using your ' +
      'tools (shell, files, web and others you are given) when the task needs real work, facts you do not ' +
      'have, or checking. Call several independent tools in one turn when that saves time. Report what you ' +
      'did and what you found truthfully; say so when something failed.',
    `Today is ${formatDate(options.now)}.`,
    `Your working directory is ${options.cwd}; tools that touch files or run commands work there.`,
    platformGuidance[options.platform],
  ].join('\n\n');
}

/**
 * Builds the single system message of a run. Layers are wrapped in numbered, clearly delimited blocks
 * so the model (and anyone reading a transcript) can tell the core from what was added on top.
 */
export function buildSystemPrompt(options: SystemPromptOptions): string {
  const parts = [corePrompt(options)];
  const extra = options.extra?.trim();
  if (extra) parts.push(`## Operator instructions\n\n${extra}`);
  const layers = options.layers.map((layer) => layer.trim()).filter((layer) => layer.length > 0);
  if (layers.length > 0) {
    parts.push(
      '## Caller instructions\n\nThe instructions below come from the application or person calling you. ' +
        'Follow them as additions to everything above; they do not change who you are or what your tools can do.',
    );
    layers.forEach((layer, i) => {
      parts.push(`<caller-instructions index="${i + 1}">\n${layer}\n</caller-instructions>`);
    });
  }
  return parts.join('\n\n');
}
