/**
 * A bounded text accumulator that keeps the beginning and the end of a long output and drops the
 * middle, for tools whose output can be unbounded (a build log, `cat` of a huge file). The head says
 * what started, the tail holds the error or summary that usually comes last. Memory stays O(limit)
 * however much is pushed. It does not decode bytes; callers push strings.
 */
export class HeadTailBuffer {
  readonly #headMax: number;
  readonly #tailMax: number;
  #head = '';
  #tail = '';
  #total = 0;

  constructor(maxChars: number) {
    this.#headMax = Math.ceil(maxChars / 2);
    this.#tailMax = maxChars - this.#headMax;
  }

  push(text: string): void {
    this.#total += text.length;
    let rest = text;
    if (this.#head.length < this.#headMax) {
      const room = this.#headMax - this.#head.length;
      this.#head += rest.slice(0, room);
      rest = rest.slice(room);
    }
    if (rest === '') return;
    this.#tail += rest;
    // Compact only past twice the limit so a stream of small chunks is not re-sliced on every push.
    // Sliced from a start index, not `slice(-tailMax)`: with a tail budget of 0 that would keep everything.
    if (this.#tail.length > 2 * this.#tailMax) this.#tail = this.#keptTail();
  }

  /** Characters pushed but not kept. */
  get omittedChars(): number {
    return Math.max(0, this.#total - this.#head.length - Math.min(this.#tail.length, this.#tailMax));
  }

  /** The kept text; when something was dropped, a visible note in the middle says how much. */
  toString(): string {
    const omitted = this.omittedChars;
    if (omitted === 0) return this.#head + this.#tail;
    return `${this.#head}\n\n[… output truncated: ${omitted} chars omitted from the middle …]\n\n${this.#keptTail()}`;
  }

  #keptTail(): string {
    return this.#tail.slice(Math.max(0, this.#tail.length - this.#tailMax));
  }
}
