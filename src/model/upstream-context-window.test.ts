import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { contextWindowFromModelList } from './upstream-context-window.ts';

describe('contextWindowFromModelList', () => {
  it("reads each server's own field for the configured model", () => {
    const list = [
      { id: 'openrouter/model', context_length: 200_000 },
      { id: 'vllm-model', max_model_len: 32_768 },
      { id: 'lmstudio-model', max_context_length: 8_192 },
      { id: 'llamacpp-model', meta: { n_ctx_train: 131_072 } },
      { id: 'plain-model' },
    ];
    assert.equal(contextWindowFromModelList(list, 'openrouter/model'), 200_000);
    assert.equal(contextWindowFromModelList(list, 'vllm-model'), 32_768);
    assert.equal(contextWindowFromModelList(list, 'lmstudio-model'), 8_192);
    assert.equal(contextWindowFromModelList(list, 'llamacpp-model'), 131_072);
    assert.equal(contextWindowFromModelList(list, 'plain-model'), undefined);
    assert.equal(contextWindowFromModelList(list, 'unknown'), undefined);
  });

  it("takes a single-model server's window whatever id it lists, its runtime n_ctx first", () => {
    const list = [{ id: '/models/llama.gguf', meta: { n_ctx: 16_384, n_ctx_train: 131_072 } }];
    assert.equal(contextWindowFromModelList(list, 'llama3.1'), 16_384);
  });

  it('ignores values that are not positive integers', () => {
    assert.equal(contextWindowFromModelList([{ id: 'm', context_length: '4096' }], 'm'), undefined);
    assert.equal(contextWindowFromModelList([{ id: 'm', context_length: 0 }], 'm'), undefined);
  });
});
