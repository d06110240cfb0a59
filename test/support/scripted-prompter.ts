/**
 * A SetupPrompter that answers from a script instead of a terminal, for driving the `herald setup`
 * wizard in tests. Each answer names the question it expects (a pattern on the message), so a wizard
 * that asks something else, or in another order, fails the test at that question. Text answers go
 * through the question's own validation, as a user's would. Everything shown is recorded.
 */
import assert from 'node:assert/strict';
import type { Choice, SetupPrompter, TextQuestion } from '../../src/cli/setup-prompter.ts';

export type ScriptedAnswer = [question: RegExp, answer: string | boolean | string[]];

export class ScriptedPrompter implements SetupPrompter {
  /** Every question asked, in order. */
  readonly asked: string[] = [];
  /** Every info/warn/outro line shown. */
  readonly shown: string[] = [];
  readonly #script: ScriptedAnswer[];

  constructor(script: ScriptedAnswer[]) {
    this.#script = [...script];
  }

  /** Fails when the wizard finished without asking every scripted question. */
  assertDone(): void {
    assert.deepEqual(
      this.#script.map(([question]) => String(question)),
      [],
      'scripted answers left unasked',
    );
  }

  intro(): void {}
  outro(message: string): void {
    this.shown.push(message);
  }
  info(message: string): void {
    this.shown.push(message);
  }
  warn(message: string): void {
    this.shown.push(`warning: ${message}`);
  }

  async select<T extends string>(q: { message: string; options: Choice<T>[] }): Promise<T> {
    const answer = this.#next(q.message) as T;
    assert.ok(
      q.options.some((o) => o.value === answer),
      `"${answer}" is not an option of "${q.message}": ${q.options.map((o) => o.value).join(', ')}`,
    );
    return answer;
  }

  async multiselect<T extends string>(q: { message: string; options: Choice<T>[] }): Promise<T[]> {
    const answer = this.#next(q.message) as T[];
    for (const value of answer)
      assert.ok(
        q.options.some((o) => o.value === value),
        `no option ${value}`,
      );
    return answer;
  }

  async text(q: TextQuestion): Promise<string> {
    return this.#validated(q);
  }

  async password(q: Omit<TextQuestion, 'initialValue' | 'placeholder'>): Promise<string> {
    return this.#validated(q);
  }

  async confirm(q: { message: string }): Promise<boolean> {
    const answer = this.#next(q.message);
    assert.equal(typeof answer, 'boolean', `"${q.message}" wants yes or no`);
    return answer as boolean;
  }

  async spin<T>(_message: string, work: () => Promise<T>, done: (result: T) => string): Promise<T> {
    const result = await work();
    this.shown.push(done(result));
    return result;
  }

  #validated(q: { message: string; validate?: (value: string) => string | undefined }): string {
    const answer = this.#next(q.message);
    assert.equal(typeof answer, 'string', `"${q.message}" wants text`);
    const problem = q.validate?.(answer as string);
    assert.equal(problem, undefined, `"${answer}" fails the validation of "${q.message}"`);
    return answer as string;
  }

  #next(message: string): string | boolean | string[] {
    this.asked.push(message);
    const entry = this.#script.shift();
    assert.ok(entry, `unscripted question: "${message}"`);
    assert.match(message, entry[0], `expected a question matching ${entry[0]}, got "${message}"`);
    return entry[1];
  }
}
