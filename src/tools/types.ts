/**
 * The Tool contract: a named capability with a zod schema for its arguments, executed with a context
 * that confines it (working directory, limits) and cancels it (AbortSignal). Tools return text for the
 * model; a thrown error becomes an error result in the agent loop, never a crash.
 */
import type { z } from 'zod';
import type { HeraldConfig } from '../config/schema.ts';

export interface ToolContext {
  /** Aborting it must stop the tool promptly (kill child processes, cancel fetches). */
  signal: AbortSignal;
  /** The workspace directory the tool works in (`agent.workspace`). */
  cwd: string;
  /** HERALD_HOME: the file tools refuse every path in it outside the workspace, even one the workspace holds. */
  home: string;
  /** Tool limits and switches from config (`tools:` section). */
  config: HeraldConfig['tools'];
}

export interface Tool<Args = unknown, Output extends string | ToolOutput = string> {
  name: string;
  description: string;
  /** Validates and types the model's arguments; its JSON Schema is what the model sees. */
  schema: z.ZodType<Args>;
  /**
   * The JSON Schema the model sees, when it comes from elsewhere (an MCP server's `inputSchema`, passed
   * through as is); otherwise it is derived from `schema`.
   */
  parameters?: Record<string, unknown>;
  /** Where the tool lives when Herald does not implement it itself: an MCP server and its tool name. */
  origin?: ToolOrigin;
  /** A short human label for progress lines, e.g. `terminal: ls -la`. */
  label(args: Args): string;
  /** Text for the model, or text plus images (MCP servers return them) for models that accept images. */
  execute(args: Args, ctx: ToolContext): Promise<Output>;
}

/** An image a tool returned, base64-encoded. */
export interface ToolImage {
  mimeType: string;
  data: string;
}

/** A tool result with images beside its text; the text always describes them for text-only models. */
export interface ToolOutput {
  text: string;
  images: ToolImage[];
}

/** An MCP server's tool as the server names it (the model sees `<server>__<tool>`). */
export interface ToolOrigin {
  server: string;
  tool: string;
}

/** A tool whose argument type has been erased, as held by a registry. */
// biome-ignore lint/suspicious/noExplicitAny: a registry holds tools of every argument type
export type AnyTool = Tool<any, string | ToolOutput>;

/**
 * Named toolsets resolved to tools. `api`, `chat` and `cli` always exist (every tool by default). MCP
 * tools come and go while Herald runs, so a toolset is resolved anew at each call.
 */
export interface ToolRegistry {
  /** The tools of a toolset now; throws `UnknownToolsetError` for a name config does not define. */
  toolset(name: string): AnyTool[];
  toolsetNames(): string[];
}
