/**
 * Reads a runs-API event stream (`GET /v1/runs/{id}/events`) with fetch, frame by frame, until a
 * predicate says enough (the connection is then dropped, like a client going away) or the server ends
 * the stream. Each event keeps its SSE `id`, so tests can reconnect with `Last-Event-ID`.
 */

export interface RunStreamEvent {
  id: number;
  event: string;
  // biome-ignore lint/suspicious/noExplicitAny: tests read arbitrary event JSON without ceremony
  data: any;
}

export interface ReadRunEventsOptions {
  key?: string;
  lastEventId?: number;
  /** Stop reading (and disconnect) once this returns true for an event. */
  until?: (event: RunStreamEvent) => boolean;
}

export async function readRunEvents(
  baseUrl: string,
  runId: string,
  options: ReadRunEventsOptions = {},
): Promise<RunStreamEvent[]> {
  const controller = new AbortController();
  const guard = setTimeout(() => controller.abort(new Error('run events: hang guard')), 15_000);
  const headers: Record<string, string> = {};
  if (options.key) headers['authorization'] = `Bearer ${options.key}`;
  if (options.lastEventId !== undefined) headers['last-event-id'] = String(options.lastEventId);
  const events: RunStreamEvent[] = [];
  let enough = false;
  try {
    const response = await fetch(`${baseUrl}/v1/runs/${runId}/events`, {
      headers,
      signal: controller.signal,
    });
    if (response.status !== 200) throw new Error(`events: HTTP ${response.status}: ${await response.text()}`);
    const decoder = new TextDecoder();
    let buffer = '';
    for await (const chunk of response.body!) {
      buffer += decoder.decode(chunk as Uint8Array, { stream: true });
      let end = buffer.indexOf('\n\n');
      while (end !== -1) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        end = buffer.indexOf('\n\n');
        const event = parseFrame(block);
        if (!event) continue;
        events.push(event);
        if (options.until?.(event)) {
          enough = true;
          controller.abort();
          return events;
        }
      }
    }
    return events;
  } catch (error) {
    if (enough) return events;
    throw error;
  } finally {
    clearTimeout(guard);
  }
}

function parseFrame(block: string): RunStreamEvent | undefined {
  let id: number | undefined;
  let event: string | undefined;
  let data = '';
  for (const line of block.split('\n')) {
    if (line.startsWith('id: ')) id = Number(line.slice(4));
    else if (line.startsWith('event: ')) event = line.slice(7);
    else if (line.startsWith('data: ')) data += line.slice(6);
  }
  if (id === undefined || event === undefined) return undefined;
  return { id, event, data: JSON.parse(data) };
}
