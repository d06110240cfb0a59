/**
 * Config upgrades: every past version's fixture (test/fixtures/config-v<N>*.yaml) is migrated to the
 * current version at load, with its comments, values and unrelated keys kept, a backup written and the
 * result valid; a newer file is refused; renamed env vars still work with a warning.
 */
import assert from 'node:assert/strict';
import {
  chmodSync,
  copyFileSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { parseDocument } from 'yaml';
import {
  CONFIG_VERSION,
  ConfigError,
  type ConfigVersionEntry,
  configVersions,
  introducedIn,
  loadConfig,
  upgradedFrom,
} from '../src/config/index.ts';

const fixtures = new URL('./fixtures/', import.meta.url).pathname;
const roots: string[] = [];
after(() => {
  for (const root of roots) rmSync(root, { recursive: true, force: true });
});

function homeWith(fixture: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'herald-migrate-'));
  roots.push(dir);
  copyFileSync(join(fixtures, fixture), join(dir, 'config.yaml'));
  return dir;
}

describe('the version table', () => {
  test('its highest version is CONFIG_VERSION and versions run 1, 2, … without gaps', () => {
    assert.deepEqual(
      configVersions.map((v) => v.version),
      Array.from({ length: CONFIG_VERSION }, (_, i) => i + 1),
    );
  });

  test('every past version has a fixture', () => {
    const files = readdirSync(fixtures);
    for (let version = 1; version < CONFIG_VERSION; version++) {
      assert.ok(
        files.some((f) => f.startsWith(`config-v${version}`) && f.endsWith('.yaml')),
        `test/fixtures/config-v${version}.yaml is missing`,
      );
    }
  });

  test('introducedIn names the entry that lists a key or its section, else version 1', () => {
    assert.equal(introducedIn('tools.run_as'), 2);
    assert.equal(introducedIn('api_server.auth_failures.window_s'), 2);
    assert.equal(introducedIn('api_server.port'), 1);
  });
});

describe('migrating past versions', () => {
  const pastFixtures = readdirSync(fixtures).filter((f) => /^config-v\d+.*\.yaml$/.test(f));

  for (const fixture of pastFixtures) {
    test(`${fixture} is upgraded to the current version, comments and values kept, backup written`, () => {
      const home = homeWith(fixture);
      const original = readFileSync(join(home, 'config.yaml'), 'utf8');
      const version = Number(/^config-v(\d+)/.exec(fixture)![1]);
      const before = parseDocument(original).toJS() ?? {};

      const loaded = loadConfig({ home, env: {} });

      const backup = join(home, `config.yaml.bak-v${version}`);
      assert.equal(readFileSync(backup, 'utf8'), original);
      assert.equal(statSync(backup).mode & 0o777, 0o600);
      const text = readFileSync(join(home, 'config.yaml'), 'utf8');
      // Comments on a line a migration step removes go with it (the step leaves its own note).
      for (const comment of original.match(/^(?!\s*tool_items:).*?(#.*)$/gm) ?? []) {
        const kept = comment.slice(comment.indexOf('#')).trim();
        assert.ok(text.includes(kept), `comment lost: ${kept}`);
      }
      const document = parseDocument(text);
      assert.equal(document.get('config_version'), CONFIG_VERSION);
      assert.equal(upgradedFrom(document), version);
      assert.equal(loaded.config.config_version, CONFIG_VERSION);
      assert.match(
        loaded.warnings.join('\n'),
        new RegExp(`from config_version ${version} to ${CONFIG_VERSION}`),
      );

      // Every value the old file set (except what a migration step removes on purpose) survives.
      const after = document.toJS();
      assertSubset(withoutRemovedKeys(before), after);

      // Loading again changes nothing: the file is current.
      const again = loadConfig({ home, env: {} });
      assert.deepEqual(again.warnings, []);
      assert.equal(readFileSync(join(home, 'config.yaml'), 'utf8'), text);
    });
  }

  test('the hand-edited v1 fixture keeps its settings and loses the deprecated tool_items', () => {
    const home = homeWith('config-v1.yaml');
    const { config, warnings } = loadConfig({ home, env: {} });
    assert.equal(config.model.base_url, 'http://localhost:11434/v1');
    assert.equal(config.model.timeout_s, 300);
    assert.equal(config.api_server.port, 8700);
    assert.deepEqual(config.api_server.keys, ['sk-herald-first-key']);
    assert.equal(config.api_server.responses.max_stored, 500);
    assert.equal(config.api_server.responses.tool_items, undefined);
    assert.deepEqual(config.platforms.telegram.allowed_users, ['12345', '67890']);
    assert.deepEqual(config.toolsets['api'], ['read_file', 'search_files']);
    assert.equal(config.logging.level, 'warn');
    assert.match(warnings.join('\n'), /removed api_server\.responses\.tool_items/);
    assert.match(
      readFileSync(join(home, 'config.yaml'), 'utf8'),
      /# tool_items: function_call {2}\(removed by the upgrade/,
    );
  });

  test('an invalid old file is reported by key and left alone, with no backup', () => {
    const home = homeWith('config-v1.yaml');
    const file = join(home, 'config.yaml');
    writeFileSync(file, 'api_server:\n  port: not-a-port\n');
    assert.throws(
      () => loadConfig({ home, env: {} }),
      (error: unknown) =>
        error instanceof ConfigError &&
        error.message.startsWith('Invalid config: api_server.port = "not-a-port"'),
    );
    assert.equal(readFileSync(file, 'utf8'), 'api_server:\n  port: not-a-port\n');
    assert.ok(!readdirSync(home).some((f) => f.includes('.bak-v')));
  });

  test('a file from a newer Herald is refused with a clear message', () => {
    const home = homeWith('config-v1.yaml');
    writeFileSync(join(home, 'config.yaml'), `config_version: ${CONFIG_VERSION + 1}\n`);
    assert.throws(
      () => loadConfig({ home, env: {} }),
      (error: unknown) =>
        error instanceof ConfigError &&
        error.message.includes(`config_version ${CONFIG_VERSION + 1}, written by a newer Herald`),
    );
  });

  test('a read-only config is upgraded in memory with a warning', { skip: process.getuid?.() === 0 }, () => {
    const home = homeWith('config-v1.yaml');
    chmodSync(home, 0o500);
    chmodSync(join(home, 'config.yaml'), 0o400);
    try {
      const { config, warnings } = loadConfig({ home, env: {} });
      assert.equal(config.api_server.port, 8700);
      assert.match(warnings.join('\n'), /in memory only/);
    } finally {
      chmodSync(home, 0o700);
    }
  });
});

describe('renamed env vars', () => {
  const versions: ConfigVersionEntry[] = configVersions.map((entry) =>
    entry.version === CONFIG_VERSION
      ? { ...entry, envRenames: [{ from: 'HERALD_OLD_MODEL', to: 'HERALD_MODEL' }] }
      : entry,
  );

  test('the old name still sets the value, with a warning naming both', () => {
    const home = homeWith('config-v1.yaml');
    const { config, warnings } = loadConfig({ home, env: { HERALD_OLD_MODEL: 'old-name-model' }, versions });
    assert.equal(config.model.model, 'old-name-model');
    assert.ok(warnings.some((w) => w.includes('HERALD_OLD_MODEL') && w.includes('HERALD_MODEL')));
  });

  test('the new name wins when both are set', () => {
    const home = homeWith('config-v1.yaml');
    const { config } = loadConfig({
      home,
      env: { HERALD_OLD_MODEL: 'old', HERALD_MODEL: 'new' },
      versions,
    });
    assert.equal(config.model.model, 'new');
  });

  test('the upgrade renames the variable in HERALD_HOME/.env', () => {
    const home = homeWith('config-v1.yaml');
    writeFileSync(join(home, '.env'), 'HERALD_API_KEY=sk-1\nexport HERALD_OLD_MODEL=from-dotenv\n');
    const { config, warnings } = loadConfig({ home, env: {}, versions });
    assert.equal(
      readFileSync(join(home, '.env'), 'utf8'),
      'HERALD_API_KEY=sk-1\nexport HERALD_MODEL=from-dotenv\n',
    );
    assert.equal(statSync(join(home, '.env')).mode & 0o777, 0o600);
    assert.equal(config.model.model, 'from-dotenv');
    assert.ok(warnings.some((w) => w.includes('renamed HERALD_OLD_MODEL to HERALD_MODEL')));
    assert.deepEqual(loadConfig({ home, env: {}, versions }).warnings, []);
  });
});

/** Keys a migration step deletes on purpose. */
function withoutRemovedKeys(config: Record<string, unknown>): Record<string, unknown> {
  const copy = structuredClone(config);
  const responses = (copy['api_server'] as { responses?: Record<string, unknown> } | undefined)?.responses;
  if (responses) delete responses['tool_items'];
  return copy;
}

function assertSubset(expected: unknown, actual: unknown, path = ''): void {
  if (expected !== null && typeof expected === 'object' && !Array.isArray(expected)) {
    assert.ok(actual !== null && typeof actual === 'object', `${path} is no longer a section`);
    for (const [key, value] of Object.entries(expected)) {
      assertSubset(value, (actual as Record<string, unknown>)[key], `${path}.${key}`);
    }
    return;
  }
  assert.deepEqual(actual, expected, `${path} changed`);
}
