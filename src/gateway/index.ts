/**
 * The gateway subsystem's front door: the GatewayRunner, the chat-platform factory, the adapter
 * contracts, and the streaming pieces adapters use.
 */
export { AccessControl, type AccessVerdict } from './access-control.ts';
export { conversationKey } from './conversation-key.ts';
export { createChatPlatforms } from './create-chat-platforms.ts';
export { type GatewayCommand, parseGatewayCommand } from './gateway-command.ts';
export {
  GatewayRunner,
  type GatewayRunnerOptions,
  isChatPlatform,
  type PlatformState,
} from './gateway-runner.ts';
export {
  type Clock,
  ManualClock,
  resolveStreamingSettings,
  StreamConsumer,
  type StreamingSettings,
  splitMessage,
  systemClock,
} from './streaming/index.ts';
export * from './types.ts';
