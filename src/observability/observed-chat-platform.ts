/**
 * A `ChatPlatform` decorator that counts what the platform accepted (sends, edits, deletes, native
 * stream updates as edits) and what it refused with flood control (429). Everything else is passed
 * through to the adapter, which keeps doing its own formatting, retries and fallbacks.
 */
import { type ChatPlatform, FloodControlError, type NativeStream } from '../gateway/index.ts';
import type { PlatformAction } from './herald-metrics.ts';

export interface PlatformObserver {
  platformMessage(platform: string, action: PlatformAction): void;
  platformRateLimited(platform: string): void;
}

export function observeChatPlatform(platform: ChatPlatform, observer: PlatformObserver): ChatPlatform {
  const counted = async <T>(action: PlatformAction, call: () => Promise<T>): Promise<T> => {
    try {
      const result = await call();
      observer.platformMessage(platform.name, action);
      return result;
    } catch (error) {
      if (error instanceof FloodControlError) observer.platformRateLimited(platform.name);
      throw error;
    }
  };
  const observeStream = (stream: NativeStream): NativeStream => ({
    update: (text) => counted('edit', () => stream.update(text)),
    finish: (text) => counted('send', () => stream.finish(text)),
    cancel: () => stream.cancel(),
  });
  const openNativeStream = platform.openNativeStream?.bind(platform);
  const counting: Partial<ChatPlatform> = {
    send: (target, text, options) => counted('send', () => platform.send(target, text, options)),
    edit: (target, message, text) => counted('edit', () => platform.edit(target, message, text)),
    delete: (target, message) => counted('delete', () => platform.delete(target, message)),
    ...(openNativeStream
      ? {
          openNativeStream: (target) => {
            const stream = openNativeStream(target);
            return stream && observeStream(stream);
          },
        }
      : {}),
  };
  // Everything else passes through untouched — the optional capabilities too (approval prompts,
  // silent refusals, every-replica mode, …), whatever a platform adds later.
  return new Proxy(platform, {
    get(target, property) {
      if (Object.hasOwn(counting, property)) return counting[property as keyof ChatPlatform];
      const value = Reflect.get(target, property, target);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}
