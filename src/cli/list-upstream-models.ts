/**
 * Asks an OpenAI-compatible upstream for its models (GET {base}/models) with a short timeout. `herald
 * doctor` uses it to prove the upstream is reachable and the key accepted; `herald setup` to offer
 * the model ids a local server has. It throws UpstreamCheckError with a one-line reason.
 */
class UpstreamCheckError extends Error {
  readonly code = 'upstream_check_failed';
  readonly status: number | undefined;

  constructor(message: string, status?: number) {
    super(message);
    this.name = 'UpstreamCheckError';
    this.status = status;
  }
}

export async function listUpstreamModels(
  baseUrl: string,
  options: { apiKey?: string; timeoutMs?: number } = {},
): Promise<string[]> {
  const url = `${baseUrl.replace(/\/+$/, '')}/models`;
  const headers: Record<string, string> = { accept: 'application/json' };
  if (options.apiKey) headers['authorization'] = `Bearer ${options.apiKey}`;
  let response: Response;
  try {
    response = await fetch(url, { headers, signal: AbortSignal.timeout(options.timeoutMs ?? 5000) });
  } catch (error) {
    const reason = error instanceof Error && error.name === 'TimeoutError' ? 'timed out' : causeOf(error);
    throw new UpstreamCheckError(`GET ${url}: ${reason}`);
  }
  if (response.status === 401 || response.status === 403) {
    await response.body?.cancel();
    throw new UpstreamCheckError(
      `GET ${url}: the upstream rejected the API key (HTTP ${response.status})`,
      response.status,
    );
  }
  if (!response.ok) {
    await response.body?.cancel();
    throw new UpstreamCheckError(`GET ${url}: HTTP ${response.status}`, response.status);
  }
  const body: unknown = await response.json().catch(() => undefined);
  const data = typeof body === 'object' && body !== null && 'data' in body ? body.data : undefined;
  if (!Array.isArray(data)) return [];
  return data
    .map((item: unknown) =>
      typeof item === 'object' && item !== null && 'id' in item ? String(item.id) : '',
    )
    .filter((id) => id.length > 0);
}

/** fetch() hides the useful part (ECONNREFUSED, ENOTFOUND) in `cause`. */
function causeOf(error: unknown): string {
  if (error instanceof Error && error.cause instanceof Error) {
    const cause = error.cause as Error & { code?: string };
    return cause.code ? `${cause.code} (${cause.message})` : cause.message;
  }
  return error instanceof Error ? error.message : String(error);
}
