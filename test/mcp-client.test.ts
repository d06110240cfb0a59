/**
 * Herald as an MCP client against real MCP servers: the small stdio and Streamable HTTP servers in
 * test/support (written with the official SDK) and `@modelcontextprotocol/server-everything`. Covers
 * tool listing and schema passthrough, result rendering, the stdio server's isolated environment,
 * crash and restart, list_changed, timeouts and aborts reaching the server as cancellations, a broken
 * server not holding up the others, and toolsets naming MCP servers and tools.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { configSchema, type HeraldConfig } from '../src/config/index.ts';
import { silentLogger } from '../src/logger.ts';
import {
  type AnyTool,
  createToolRegistry,
  invokeTool,
  McpClients,
  type McpServerStatus,
  type ToolContext,
  toolSpec,
} from '../src/tools/index.ts';
import { startMcpHttpServer } from './support/mcp-http-server.ts';

const stdioServer = fileURLToPath(new URL('./support/mcp-stdio-server.ts', import.meta.url));
const everythingServer = fileURLToPath(
  new URL('../node_modules/@modelcontextprotocol/server-everything/dist/index.js', import.meta.url),
);

interface Setup {
  home: string;
  log: string;
  config: HeraldConfig;
  mcp: McpClients;
}

function setUp(
  servers: (log: string) => Record<string, unknown>,
  extra: Record<string, unknown> = {},
): Setup {
  const home = mkdtempSync(join(tmpdir(), 'herald-mcp-'));
  const workspace = join(home, 'workspace');
  mkdirSync(workspace);
  const log = join(home, 'server.log');
  const config: HeraldConfig = {
    ...configSchema.parse({ agent: { workspace }, mcp_servers: servers(log), ...extra }),
    home,
  };
  const mcp = new McpClients({
    config,
    logger: silentLogger(),
    workspace,
    version: '0.0.0-test',
    retryDelayMs: 50,
    maxRetryDelayMs: 200,
  });
  mcp.start();
  return { home, log, config, mcp };
}

async function tearDown(setup: Setup): Promise<void> {
  await setup.mcp.stop();
  rmSync(setup.home, { recursive: true, force: true });
}

const stdio = (log: string, extra: Record<string, unknown> = {}) => ({
  command: process.execPath,
  args: [stdioServer],
  env: { MCP_TEST_LOG: log },
  ...extra,
});

/** Polls until `check` holds; the deadline only catches hangs. */
async function until(check: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 15_000;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

function statusOf(setup: Setup, name: string): McpServerStatus {
  const status = setup.mcp.status().find((s) => s.name === name);
  assert.ok(status, `no server ${name}`);
  return status;
}

function toolNamed(setup: Setup, name: string): AnyTool {
  const tool = setup.mcp.tools().find((t) => t.name === name);
  assert.ok(tool, `no tool ${name}; have ${setup.mcp.tools().map((t) => t.name)}`);
  return tool;
}

function context(setup: Setup, signal = new AbortController().signal): ToolContext {
  return {
    signal,
    cwd: setup.config.agent.workspace ?? setup.home,
    home: setup.home,
    config: setup.config.tools,
  };
}

const logLines = (setup: Setup): string[] => {
  try {
    return readFileSync(setup.log, 'utf8').split('\n').filter(Boolean);
  } catch {
    return [];
  }
};

describe('a stdio MCP server', () => {
  let setup: Setup;
  before(async () => {
    process.env['HERALD_TEST_SECRET'] = 'do-not-leak';
    setup = setUp((log) => ({ t: stdio(log, { env: { MCP_TEST_LOG: log, GIVEN: 'yes' }, timeout_s: 1 }) }));
    await setup.mcp.ready();
  });
  after(async () => {
    delete process.env['HERALD_TEST_SECRET'];
    await tearDown(setup);
  });

  test('offers its tools as <server>__<tool> with their input schemas passed through', () => {
    assert.equal(statusOf(setup, 't').state, 'ready');
    const names = setup.mcp.tools().map((t) => t.name);
    for (const name of ['t__echo', 't__slow', 't__crash', 't__media', 't__fail', 't__env']) {
      assert.ok(names.includes(name), name);
    }
    const spec = toolSpec(toolNamed(setup, 't__echo'));
    assert.equal(spec.description, 'Echoes the text back.');
    const parameters = spec.parameters as { properties: Record<string, { description?: string }> };
    assert.equal(parameters.properties['text']?.description, 'What to echo');
    assert.deepEqual(Object.keys(parameters.properties), ['text', 'options']);
  });

  test('runs a tool and renders images, resource links and structured content as text', async () => {
    const echo = await invokeTool(
      toolNamed(setup, 't__echo'),
      '{"text":"hi","options":{"upper":true}}',
      context(setup),
    );
    assert.deepEqual(echo, { output: 'HI', isError: false });
    const media = await invokeTool(toolNamed(setup, 't__media'), '{}', context(setup));
    assert.equal(media.isError, false);
    assert.match(media.output, /^a picture:\n\[image: image\/png, 16 bytes\]\n/);
    assert.match(media.output, /\[resource link: file:\/\/\/pics\/cat\.png \(cat\.png\), image\/png\]/);
    assert.match(media.output, /"count": 1/);
    const fail = await invokeTool(toolNamed(setup, 't__fail'), '{}', context(setup));
    assert.deepEqual(fail, { output: 'Error: the widget is broken', isError: true });
  });

  test("gets the allow-listed environment and its own env, never Herald's", async () => {
    const result = await invokeTool(toolNamed(setup, 't__env'), '{}', context(setup));
    const env = JSON.parse(result.output) as Record<string, string>;
    assert.equal(env['GIVEN'], 'yes');
    assert.equal(env['HERALD_TEST_SECRET'], undefined);
    assert.ok(env['PATH']);
  });

  test('a call past timeout_s fails with a clear result and the server is told to cancel', async () => {
    const result = await invokeTool(toolNamed(setup, 't__slow'), '{"ms":10000}', context(setup));
    assert.equal(result.isError, true);
    assert.match(result.output, /did not answer within 1 s/);
    await until(() => logLines(setup).includes('slow cancelled'), 'the cancellation');
  });

  test('aborting the run cancels the call on the server', async () => {
    const before = logLines(setup).filter((l) => l === 'slow cancelled').length;
    const controller = new AbortController();
    const call = invokeTool(toolNamed(setup, 't__slow'), '{"ms":10000}', context(setup, controller.signal));
    await until(() => logLines(setup).filter((l) => l === 'slow started').length > before, 'the call');
    controller.abort();
    assert.equal((await call).isError, true);
    await until(
      () => logLines(setup).filter((l) => l === 'slow cancelled').length > before,
      'the cancellation',
    );
  });

  test('notifications/tools/list_changed refreshes the tools', async () => {
    await invokeTool(toolNamed(setup, 't__add_tool'), '{}', context(setup));
    await until(() => setup.mcp.tools().some((t) => t.name === 't__late'), 't__late');
    const late = await invokeTool(toolNamed(setup, 't__late'), '{}', context(setup));
    assert.equal(late.output, 'late answer');
  });

  test('a crashed server is restarted; calls meanwhile fail with a clear result', async () => {
    const crash = toolNamed(setup, 't__crash');
    const echo = toolNamed(setup, 't__echo');
    const starts = () => logLines(setup).filter((l) => l.startsWith('started ')).length;
    // On a loaded machine a first connection attempt can time out and be retried: count from here.
    const startsBefore = starts();
    const result = await invokeTool(crash, '{}', context(setup));
    assert.equal(result.isError, true);
    assert.match(result.output, /The MCP server "t" went away during the call/);
    await until(
      () => statusOf(setup, 't').state === 'failed' || statusOf(setup, 't').state === 'connecting',
      'down',
    );
    const status = statusOf(setup, 't');
    if (status.state === 'failed') assert.match(status.error ?? '', /exit code 3.*crashing on purpose/);
    const meanwhile = await invokeTool(echo, '{"text":"x"}', context(setup));
    if (meanwhile.isError) assert.match(meanwhile.output, /MCP server "t" is not available/);
    await until(() => statusOf(setup, 't').state === 'ready', 'the restart');
    const again = await invokeTool(toolNamed(setup, 't__echo'), '{"text":"back"}', context(setup));
    assert.deepEqual(again, { output: 'back', isError: false });
    assert.ok(starts() > startsBefore, 'the crashed server was started again');
  });
});

test('a broken server does not hold up the others and is retried', async () => {
  const setup = setUp((log) => ({
    broken: { command: join(tmpdir(), 'no-such-mcp-server') },
    good: stdio(log),
  }));
  try {
    await setup.mcp.ready();
    assert.equal(statusOf(setup, 'good').state, 'ready');
    // Retried every 50-200 ms here, so it may be failed or connecting again, never ready.
    const broken = statusOf(setup, 'broken');
    assert.notEqual(broken.state, 'ready');
    assert.match(broken.error ?? '', /ENOENT/);
    assert.ok(setup.mcp.tools().every((t) => t.origin?.server === 'good'));
  } finally {
    await tearDown(setup);
  }
});

test('a Streamable HTTP server with a bearer token', async () => {
  const http = await startMcpHttpServer({ token: 'sesame' });
  const setup = setUp(() => ({
    remote: { url: http.url, bearer_token: 'sesame', headers: { 'X-Extra': 'on' } },
    wrong: { url: http.url, bearer_token: 'nope', transport: 'streamable-http' },
  }));
  try {
    await setup.mcp.ready();
    assert.equal(statusOf(setup, 'remote').state, 'ready');
    assert.equal(statusOf(setup, 'remote').transport, 'streamable-http');
    assert.ok(http.requests.some((h) => h['x-extra'] === 'on'));
    const echo = await invokeTool(toolNamed(setup, 'remote__echo'), '{"text":"over http"}', context(setup));
    assert.deepEqual(echo, { output: 'over http', isError: false });
    assert.equal(statusOf(setup, 'wrong').state, 'failed');
    assert.match(statusOf(setup, 'wrong').error ?? '', /401/);
  } finally {
    await tearDown(setup);
    await http.close();
  }
});

test('@modelcontextprotocol/server-everything over stdio', async () => {
  const setup = setUp(() => ({
    everything: { command: process.execPath, args: [everythingServer, 'stdio'] },
  }));
  try {
    await setup.mcp.ready();
    assert.equal(statusOf(setup, 'everything').state, 'ready', statusOf(setup, 'everything').error);
    const echo = await invokeTool(
      toolNamed(setup, 'everything__echo'),
      '{"message":"hello"}',
      context(setup),
    );
    assert.equal(echo.isError, false);
    assert.match(echo.output, /hello/);
  } finally {
    await tearDown(setup);
  }
});

describe('toolsets with MCP tools', () => {
  let setup: Setup;
  before(async () => {
    setup = setUp((log) => ({ t: stdio(log) }), {
      toolsets: { one: ['read_file', 't__echo'], whole: ['mcp:t'] },
    });
    await setup.mcp.ready();
  });
  after(() => tearDown(setup));

  test('default toolsets hold every MCP tool; mcp:<server> and <server>__<tool> select them', () => {
    const tools = createToolRegistry(setup.config, { mcpTools: () => setup.mcp.tools() });
    const names = (set: string) => tools.toolset(set).map((t) => t.name);
    for (const set of ['api', 'chat', 'cli'])
      assert.ok(names(set).includes('t__echo') && names(set).includes('terminal'));
    assert.deepEqual(names('one'), ['read_file', 't__echo']);
    assert.ok(names('whole').length >= 6);
    assert.ok(names('whole').every((name) => name.startsWith('t__')));
  });

  test('a toolset naming an unknown MCP server fails at startup', () => {
    const config = { ...setup.config, toolsets: { bad: ['mcp:nope'] } };
    assert.throws(() => createToolRegistry(config), /toolsets\.bad: unknown tool "mcp:nope".*mcp:t/);
    const config2 = { ...setup.config, toolsets: { bad: ['nope__x'] } };
    assert.throws(() => createToolRegistry(config2), /unknown tool "nope__x"/);
  });
});

test('stop() does not wait for a server that never answers initialize', async () => {
  const setup = setUp(() => ({
    mute: { command: process.execPath, args: ['-e', 'setInterval(() => {}, 1000)'], timeout_s: 120 },
  }));
  await until(() => statusOf(setup, 'mute').state === 'connecting', 'connecting');
  // The connect timeout is 120 s; a stop that waited for it would hit this guard instead.
  const guard = new Promise((_, reject) => setTimeout(() => reject(new Error('stop hung')), 10_000).unref());
  await Promise.race([tearDown(setup), guard]);
  assert.equal(statusOf(setup, 'mute').state, 'stopped');
});
