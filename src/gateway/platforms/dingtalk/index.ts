/** The DingTalk platform's front door. */

export { DingTalkApi, DingTalkApiError } from './dingtalk-api.ts';
export {
  DINGTALK_MAX_MESSAGE_CHARS,
  type DingTalkConfig,
  DingTalkPlatform,
  type DingTalkPlatformOptions,
} from './dingtalk-platform.ts';
