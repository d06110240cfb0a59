/**
 * A reply streamed into a DingTalk AI card: the card is created and delivered on the first update,
 * then its Markdown variable is replaced with the whole reply so far (`isFull`), and finalised at the
 * end. Used by the StreamConsumer as a NativeStream; DingTalk paces nothing here, the consumer does.
 */
import type { NativeStream } from '../../types.ts';
import type { CardSpace, DingTalkApi } from './dingtalk-api.ts';

export interface DingTalkCardStreamOptions {
  api: DingTalkApi;
  templateId: string;
  contentKey: string;
  space: CardSpace;
}

export class DingTalkCardStream implements NativeStream {
  readonly #options: DingTalkCardStreamOptions;
  readonly #outTrackId = `herald-${crypto.randomUUID()}`;
  #created = false;
  #last = '';

  constructor(options: DingTalkCardStreamOptions) {
    this.#options = options;
  }

  async update(text: string): Promise<void> {
    await this.#push(text, false);
  }

  async finish(text: string): Promise<void> {
    await this.#push(text, true);
  }

  async cancel(): Promise<void> {
    if (this.#created) await this.#push(this.#last, true);
  }

  async #push(text: string, finalize: boolean): Promise<void> {
    const { api, templateId, contentKey, space } = this.#options;
    if (!this.#created) {
      await api.createCard(templateId, this.#outTrackId, contentKey, space);
      this.#created = true;
    }
    await api.streamCard(this.#outTrackId, contentKey, text, finalize);
    this.#last = text;
  }
}
