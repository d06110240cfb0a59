/**
 * Agent profiles served as models. `herald` always exists; `config.profiles` adds more, each with its
 * own upstream model, toolset and system prompt. The resolver maps a request's `model` id to a profile:
 * an unknown id (a frontend's `gpt-4o-mini` title request) falls back to the default profile unless
 * `api_server.strict_models` is on. It does not run anything; routes turn a profile into AgentInput fields.
 */
import { defaultToolsetFor } from '../../../agent/index.ts';
import type { HeraldConfig } from '../../../config/schema.ts';
import type { ToolRegistry } from '../../../tools/index.ts';
import { ApiError } from './errors.ts';

export interface AgentProfile {
  /** The model id clients send and `/v1/models` lists. */
  id: string;
  /** Upstream model id override; undefined = the configured `model.model`. */
  upstreamModel: string | undefined;
  /** Toolset name; undefined = the API platform's default toolset. */
  toolset: string | undefined;
  /** Extra system prompt layered under the caller's own system messages. */
  systemPrompt: string | undefined;
}

export const DEFAULT_PROFILE_ID = 'herald';

/** OpenAI's 404 for a model id that is not served (`strict_models` requests, `GET /v1/models/:id`). */
export function modelNotFound(id: string): ApiError {
  return new ApiError(404, `The model \`${id}\` does not exist or you do not have access to it.`, {
    type: 'invalid_request_error',
    param: 'model',
    code: 'model_not_found',
  });
}

export class ProfileResolver {
  readonly #profiles = new Map<string, AgentProfile>();
  readonly #strict: boolean;
  readonly #tools: ToolRegistry;
  readonly #toolNames = new Map<string, ReadonlySet<string>>();

  constructor(config: Pick<HeraldConfig, 'profiles' | 'api_server'>, tools: ToolRegistry) {
    this.#strict = config.api_server.strict_models;
    this.#tools = tools;
    this.#profiles.set(DEFAULT_PROFILE_ID, {
      id: DEFAULT_PROFILE_ID,
      upstreamModel: undefined,
      toolset: undefined,
      systemPrompt: undefined,
    });
    for (const [id, p] of Object.entries(config.profiles)) {
      this.#profiles.set(id, {
        id,
        upstreamModel: p.model,
        toolset: p.toolset,
        systemPrompt: p.system_prompt,
      });
    }
  }

  /** Every profile, default first, as `/v1/models` lists them. */
  list(): AgentProfile[] {
    return [...this.#profiles.values()];
  }

  /** The profile with exactly this id, or undefined (for `GET /v1/models/:id`). */
  get(id: string): AgentProfile | undefined {
    return this.#profiles.get(id);
  }

  /**
   * The names of the tools the profile's agent runs itself, which a client's own tools must not take.
   * Throws `UnknownToolsetError` for a toolset config does not define, as the run itself would.
   */
  toolNames(profile: AgentProfile): ReadonlySet<string> {
    let names = this.#toolNames.get(profile.id);
    if (!names) {
      const toolset = profile.toolset ?? defaultToolsetFor('api');
      names = new Set(this.#tools.toolset(toolset).map((tool) => tool.name));
      this.#toolNames.set(profile.id, names);
    }
    return names;
  }

  /**
   * The profile a request's `model` names. Unknown or missing ids get the default profile, because
   * frontends send fixed ids for side requests; with strict_models they are a 404 `model_not_found`.
   * `allowed` is the calling key's profile list: a profile outside it is a 404 `model_not_found`
   * (OpenAI's answer for a model you cannot access).
   */
  resolve(id: string | undefined | null, allowed?: readonly string[]): AgentProfile {
    const found = id ? this.#profiles.get(id) : undefined;
    if (!found && this.#strict && id) throw modelNotFound(id);
    const profile = found ?? this.#profiles.get(DEFAULT_PROFILE_ID)!;
    if (allowed && !allowed.includes(profile.id)) throw modelNotFound(id || profile.id);
    return profile;
  }
}
