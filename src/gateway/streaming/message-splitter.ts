/**
 * Splits a reply that is too long for one platform message into several, each within the platform's
 * limit as the platform counts length. Cuts fall at a paragraph break, else a line break, else a
 * space, and only as a last resort inside a word. A cut inside a fenced code block closes the fence at
 * the end of the chunk and reopens it (with its language) at the start of the next, so every chunk
 * renders as valid Markdown. Nothing is dropped: the chunks minus the added fence lines are the input.
 * It does not format for any platform; adapters do that per chunk.
 */

export interface SplitOptions {
  maxLength: number;
  /** Length as the platform counts it; `text.length` (UTF-16 code units) when omitted. */
  countLength?: (text: string) => number;
}

/** One chunk plus where it came from, for callers that track progress through the original text. */
export interface SplitSlice {
  /** The chunk as it should be sent (with any reopened/closed fence lines). */
  text: string;
  /** Index in the input where this chunk's own content ends (exclusive). */
  end: number;
  /** The fence line (`"```lang\n"`) the next chunk must start with, or '' when not inside a fence. */
  carry: string;
}

const fenceLine = /^ {0,3}(`{3,}|~{3,})(.*)$/;

/** State of fenced code at a point in a text: the open fence's marker and full opening line, if any. */
interface FenceState {
  marker: string;
  opening: string;
}

/** Walks the complete lines of `text` before `end` and returns the fence still open there, if any. */
function fenceStateAt(text: string, end: number): FenceState | undefined {
  let open: FenceState | undefined;
  let lineStart = 0;
  while (lineStart < end) {
    let lineEnd = text.indexOf('\n', lineStart);
    if (lineEnd === -1) lineEnd = text.length;
    // A line cut by `end` still counts once its fence marker is complete (e.g. "```py" + cut).
    const line = text.slice(lineStart, Math.min(lineEnd, end));
    const match = fenceLine.exec(line);
    if (match) {
      const marker = match[1]!;
      if (!open) open = { marker, opening: line.trimStart() };
      else if (marker[0] === open.marker[0] && marker.length >= open.marker.length && match[2]!.trim() === '')
        open = undefined;
    }
    lineStart = lineEnd + 1;
  }
  return open;
}

/** The fence line to start the next chunk with when `text` ends inside a code block ('' otherwise). */
export function openFenceCarry(text: string): string {
  const state = fenceStateAt(text, text.length);
  return state ? `${state.opening}\n` : '';
}

function closingFor(body: string, state: FenceState): string {
  return `${body.endsWith('\n') ? '' : '\n'}${state.marker}`;
}

/** The cut just after the last `needle` in `text[from, limit)`, or -1. */
function lastIndexBefore(text: string, needle: string | RegExp, from: number, limit: number): number {
  if (typeof needle === 'string') {
    const at = text.lastIndexOf(needle, limit - needle.length);
    return at >= from ? at + needle.length : -1;
  }
  let best = -1;
  const re = new RegExp(needle.source, 'g');
  re.lastIndex = from;
  for (let m = re.exec(text); m && m.index + m[0].length <= limit; m = re.exec(text))
    best = m.index + m[0].length;
  return best;
}

/** Largest end index e (start < e ≤ text.length) whose chunk `prefix + text[start, e)` plus `reserve` fits. */
function fittingEnd(
  text: string,
  start: number,
  prefix: string,
  reserve: number,
  maxLength: number,
  count: (t: string) => number,
): number {
  let lo = start;
  let hi = text.length;
  while (lo < hi) {
    const mid = Math.ceil((lo + hi) / 2);
    if (count(prefix + text.slice(start, mid)) + reserve <= maxLength) lo = mid;
    else hi = mid - 1;
  }
  // Never split a surrogate pair.
  if (lo > start && lo < text.length && /[\uD800-\uDBFF]/.test(text[lo - 1]!)) lo -= 1;
  return lo;
}

/**
 * Splits `text` into chunks of at most `maxLength` (as counted), with the bookkeeping a streaming
 * caller needs. See `splitMessage` for the plain form.
 */
export function splitMessageSlices(text: string, options: SplitOptions): SplitSlice[] {
  const count = options.countLength ?? ((t: string) => t.length);
  const { maxLength } = options;
  const slices: SplitSlice[] = [];
  let start = 0;
  let prefix = '';
  while (true) {
    const rest = text.slice(start);
    if (count(prefix + rest) <= maxLength) {
      slices.push({ text: prefix + rest, end: text.length, carry: openFenceCarry(prefix + rest) });
      return slices;
    }
    // Reserve room for a closing fence in case the cut lands inside a code block.
    const longestMarker = Math.max(3, ...(rest.match(/`{3,}|~{3,}/g) ?? []).map((m) => m.length));
    const reserve = count(`\n${'`'.repeat(longestMarker)}`);
    let limit = fittingEnd(text, start, prefix, reserve, maxLength, count);
    if (limit <= start) limit = fittingEnd(text, start, prefix, 0, maxLength, count);
    if (limit <= start) {
      // Not even one character fits after the reopened fence: drop the fence for this chunk.
      prefix = '';
      limit = Math.max(start + 1, fittingEnd(text, start, '', 0, maxLength, count));
    }
    const end = chooseCut(text, start, limit, prefix);
    const body = prefix + text.slice(start, end);
    const state = fenceStateAt(body, body.length);
    const chunk = state ? body + closingFor(body, state) : body;
    const carry = state ? `${state.opening}\n` : '';
    slices.push({ text: chunk, end, carry });
    start = end;
    prefix = carry;
  }
}

/** Picks where to cut in `text[start, limit)`: the best boundary that keeps the chunk reasonably full. */
function chooseCut(text: string, start: number, limit: number, prefix: string): number {
  const minEnd = start + Math.floor((limit - start) / 2);
  const outsideFence = (at: number) =>
    !fenceStateAt(prefix + text.slice(start, at), prefix.length + at - start);
  const anywhere = () => true;
  const paragraph = (from: number, to: number) => lastIndexBefore(text, '\n\n', from, to);
  const line = (from: number, to: number) => lastIndexBefore(text, '\n', from, to);
  const word = (from: number, to: number) => lastIndexBefore(text, /\s+/, from, to);
  // Order: paragraph outside code, line outside code, line anywhere (fence closed/reopened), word.
  const finders: Array<[(from: number, to: number) => number, (at: number) => boolean]> = [
    [paragraph, outsideFence],
    [line, outsideFence],
    [line, anywhere],
    [word, anywhere],
  ];
  let fallback = -1;
  for (const [find, accept] of finders) {
    // Walk back from the limit to the best acceptable candidate of this tier.
    let to = limit;
    while (to > start) {
      const at = find(start, to);
      if (at <= start) break;
      if (accept(at) && !cutsFenceLine(text, at) && !onlyFenceOpening(text.slice(start, at))) {
        if (at >= minEnd) return at;
        if (at > fallback) fallback = at;
        break;
      }
      to = at - 1;
    }
  }
  return fallback > start ? fallback : limit;
}

/** A chunk holding nothing but a fence's opening line would carry no content (and never progress). */
function onlyFenceOpening(chunk: string): boolean {
  return fenceLine.test(chunk.trim()) && !chunk.trim().includes('\n');
}

/** True when `at` falls inside (not at the start of) a fence line, which must never be broken. */
function cutsFenceLine(text: string, at: number): boolean {
  const lineStart = text.lastIndexOf('\n', at - 1) + 1;
  if (lineStart === at) return false;
  let lineEnd = text.indexOf('\n', lineStart);
  if (lineEnd === -1) lineEnd = text.length;
  return fenceLine.test(text.slice(lineStart, lineEnd)) && at < lineEnd;
}

/** Splits `text` into platform-sized chunks (see module doc). A text that fits is returned as is. */
export function splitMessage(text: string, options: SplitOptions): string[] {
  return splitMessageSlices(text, options).map((slice) => slice.text);
}
