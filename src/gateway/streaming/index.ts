/**
 * Streaming replies onto chat platforms: the StreamConsumer, message splitting and the per-platform
 * streaming settings. Adapters and the gateway runner import from here.
 */
export { type Clock, systemClock, type TimerHandle } from './clock.ts';
export { ManualClock } from './manual-clock.ts';
export { type SplitOptions, type SplitSlice, splitMessage, splitMessageSlices } from './message-splitter.ts';
export { StreamConsumer, type StreamConsumerOptions, type StreamTarget } from './stream-consumer.ts';
export { resolveStreamingSettings, type StreamingSettings } from './streaming-settings.ts';
