/**
 * The questions `herald setup` asks, behind a small interface: the real one is @clack/prompts on the
 * terminal; tests pass a scripted one (test/support/scripted-prompter.ts) and never drive a TTY. A cancelled
 * prompt (Ctrl-C, Esc) becomes CliError `cancelled` here, so the wizard never sees clack's cancel symbol.
 * It asks; it does not decide what to ask or save anything.
 */
import * as prompts from '@clack/prompts';
import { CliError } from './cli-error.ts';

export interface Choice<T extends string> {
  value: T;
  label: string;
  hint?: string;
}

export interface TextQuestion {
  message: string;
  initialValue?: string;
  placeholder?: string;
  /** An error message, or undefined when the answer is fine. */
  validate?: (value: string) => string | undefined;
}

export interface SetupPrompter {
  intro(title: string): void;
  outro(message: string): void;
  info(message: string): void;
  warn(message: string): void;
  select<T extends string>(question: { message: string; options: Choice<T>[]; initialValue?: T }): Promise<T>;
  multiselect<T extends string>(question: {
    message: string;
    options: Choice<T>[];
    initialValues?: T[];
  }): Promise<T[]>;
  text(question: TextQuestion): Promise<string>;
  password(question: Omit<TextQuestion, 'initialValue' | 'placeholder'>): Promise<string>;
  confirm(question: { message: string; initialValue?: boolean }): Promise<boolean>;
  /** Runs `work` with a progress line; the returned text replaces it. */
  spin<T>(message: string, work: () => Promise<T>, done: (result: T) => string): Promise<T>;
}

export function clackPrompter(): SetupPrompter {
  return {
    intro: (title) => prompts.intro(title),
    outro: (message) => prompts.outro(message),
    info: (message) => prompts.log.info(message),
    warn: (message) => prompts.log.warn(message),
    select: async (q) =>
      answered(
        await prompts.select({
          message: q.message,
          options: q.options.map((o) => ({ value: o.value, label: o.label, hint: o.hint })) as prompts.Option<
            typeof q.initialValue & string
          >[],
          initialValue: q.initialValue,
        }),
      ) as (typeof q.options)[number]['value'],
    multiselect: async (q) =>
      answered(
        await prompts.multiselect({
          message: q.message,
          options: q.options.map((o) => ({
            value: o.value,
            label: o.label,
            hint: o.hint,
          })) as prompts.Option<string>[],
          initialValues: q.initialValues,
          required: false,
        }),
      ) as (typeof q.options)[number]['value'][],
    text: async (q) =>
      answered(
        await prompts.text({
          message: q.message,
          initialValue: q.initialValue,
          placeholder: q.placeholder,
          validate: q.validate ? (value) => q.validate?.(value ?? '') : undefined,
        }),
      ).trim(),
    password: async (q) =>
      answered(
        await prompts.password({
          message: q.message,
          validate: q.validate ? (value) => q.validate?.(value ?? '') : undefined,
        }),
      ).trim(),
    confirm: async (q) =>
      answered(await prompts.confirm({ message: q.message, initialValue: q.initialValue })),
    spin: async (message, work, done) => {
      const spinner = prompts.spinner();
      spinner.start(message);
      try {
        const result = await work();
        spinner.stop(done(result));
        return result;
      } catch (error) {
        spinner.error(message);
        throw error;
      }
    },
  };
}

function answered<T>(value: T): Exclude<T, symbol> {
  if (prompts.isCancel(value)) {
    prompts.cancel('Setup cancelled; nothing was saved.');
    throw new CliError('cancelled', 'Setup cancelled.');
  }
  return value as Exclude<T, symbol>;
}
