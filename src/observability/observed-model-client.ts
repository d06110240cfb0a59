/**
 * A `ModelClient` decorator that reports every upstream call to the Pulse once it ends: the latency to
 * its first delta (or to its failure) and the error code of a failed call. Cancelled calls are not
 * failures of the upstream and are not reported. It changes nothing about the calls themselves.
 */
import { type ModelClient, type ModelDelta, type ModelRequest, RunAbortedError } from '../model/index.ts';

export type UpstreamCallSink = (latencyMs: number, errorCode?: string) => void;

export function observeModelClient(model: ModelClient, report: UpstreamCallSink): ModelClient {
  async function* stream(request: ModelRequest, signal: AbortSignal): AsyncGenerator<ModelDelta> {
    const started = performance.now();
    let latencyMs: number | undefined;
    let failed = false;
    try {
      for await (const delta of model.stream(request, signal)) {
        latencyMs ??= performance.now() - started;
        yield delta;
      }
    } catch (error) {
      failed = true;
      if (!(error instanceof RunAbortedError) && !signal.aborted) {
        const code = (error as { code?: unknown }).code;
        report(latencyMs ?? performance.now() - started, typeof code === 'string' ? code : 'unknown');
      }
      throw error;
    } finally {
      // The agent stops reading at the `finish` delta, so a good call often ends here by `return()`.
      if (!failed && latencyMs !== undefined && !signal.aborted) report(latencyMs);
    }
  }
  return {
    stream,
    ...(model.contextWindow ? { contextWindow: model.contextWindow.bind(model) } : {}),
  };
}
