/**
 * The tools subsystem's typed failures. A tool throws a `ToolError` (or a subclass) when it refuses or
 * cannot do what the model asked; `invokeTool` turns it into an error result the model reads, so the
 * message is written for the model: what went wrong and what to do instead. The registry's errors are
 * configuration mistakes found at startup, shaped like `ConfigError` (a `key` naming the config entry).
 * Nothing here decides how an error is shown.
 */

export type ToolErrorCode =
  | 'path_outside_workspace'
  | 'path_in_herald_home'
  | 'not_found'
  | 'not_a_file'
  | 'binary_file'
  | 'text_not_found'
  | 'text_not_unique'
  | 'invalid_pattern'
  | 'blocked_address'
  | 'unsupported_url'
  | 'unsupported_content'
  | 'fetch_failed'
  | 'too_many_redirects'
  | 'timeout'
  | 'mcp_unavailable';

/** A tool refused or failed in a way the model can act on. */
export class ToolError extends Error {
  readonly code: ToolErrorCode;

  constructor(code: ToolErrorCode, message: string, options: { cause?: unknown } = {}) {
    super(message, { cause: options.cause });
    this.name = 'ToolError';
    this.code = code;
  }
}

/** A file tool was asked for a path that resolves outside the workspace (`..`, absolute path, symlink). */
export class PathOutsideWorkspaceError extends ToolError {
  readonly path: string;

  constructor(path: string) {
    super(
      'path_outside_workspace',
      `Refused: "${path}" resolves outside the workspace. File tools only work on paths inside the workspace.`,
    );
    this.name = 'PathOutsideWorkspaceError';
    this.path = path;
  }
}

/** web_fetch refused a URL whose host resolves to a loopback, private, link-local or reserved address. */
export class BlockedAddressError extends ToolError {
  readonly host: string;
  readonly address: string;

  constructor(host: string, address: string) {
    super(
      'blocked_address',
      `Refused: ${host} resolves to ${address}, a loopback, private, link-local or reserved address ` +
        '(set tools.web_fetch.allow_private: true to allow it).',
    );
    this.name = 'BlockedAddressError';
    this.host = host;
    this.address = address;
  }
}

/** A toolset in config names a tool that does not exist. */
export class UnknownToolError extends Error {
  readonly code = 'unknown_tool';
  /** Dotted config key at fault, e.g. `toolsets.chat`. */
  readonly key: string;
  readonly tool: string;

  constructor(key: string, tool: string, available: readonly string[]) {
    super(`${key}: unknown tool "${tool}"; expected one of ${available.join(', ')}`);
    this.name = 'UnknownToolError';
    this.key = key;
    this.tool = tool;
  }
}

/** A caller asked for a toolset that config does not define. */
export class UnknownToolsetError extends Error {
  readonly code = 'unknown_toolset';
  readonly toolset: string;

  constructor(toolset: string, available: readonly string[]) {
    super(`Unknown toolset "${toolset}"; defined toolsets: ${available.join(', ')}`);
    this.name = 'UnknownToolsetError';
    this.toolset = toolset;
  }
}

/** Two tools given to the registry share a name, so the model could not tell them apart. */
export class DuplicateToolError extends Error {
  readonly code = 'duplicate_tool';
  readonly tool: string;

  constructor(tool: string) {
    super(`Two tools are named "${tool}"; tool names must be unique.`);
    this.name = 'DuplicateToolError';
    this.tool = tool;
  }
}
