import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ConfigError } from '../config/index.ts';
import { resolveToolUser } from './tool-user.ts';

const passwd = [
  { name: 'root', uid: 0, gid: 0 },
  { name: 'nobody', uid: 65534, gid: 65534 },
  { name: 'herald', uid: 1000, gid: 1000 },
  { name: 'builder', uid: 1001, gid: 100 },
];
const lookup = (key: string) => passwd.find((entry) => entry.name === key || String(entry.uid) === key);

test('auto as root runs tools as nobody, without a warning', () => {
  assert.deepEqual(resolveToolUser('auto', 0, lookup), { user: { name: 'nobody', uid: 65534, gid: 65534 } });
});

test('auto as root falls back to uid 65534 when passwd has no nobody', () => {
  assert.deepEqual(resolveToolUser('auto', 0, () => undefined).user, {
    name: 'nobody',
    uid: 65534,
    gid: 65534,
  });
});

test('auto when not root keeps Herald’s user and says tools can read what Herald can', () => {
  const decision = resolveToolUser('auto', 1000, lookup);
  assert.equal(decision.user, undefined);
  assert.match(decision.warning ?? '', /Herald's own user \(uid 1000\).*\.env and database/);
});

test('off as root keeps root, with a warning', () => {
  const decision = resolveToolUser('off', 0, lookup);
  assert.equal(decision.user, undefined);
  assert.match(decision.warning ?? '', /run_as is off: tool commands run as root/);
});

test('a user name, a uid and uid:gid resolve as root', () => {
  assert.deepEqual(resolveToolUser('builder', 0, lookup).user, { name: 'builder', uid: 1001, gid: 100 });
  assert.deepEqual(resolveToolUser('1001', 0, lookup).user, { name: 'builder', uid: 1001, gid: 100 });
  assert.deepEqual(resolveToolUser('1001:1001', 0, lookup).user, { name: 'builder', uid: 1001, gid: 1001 });
  // A container uid with no passwd entry gets the group of the same number.
  assert.deepEqual(resolveToolUser('4242', 0, lookup).user, { name: '4242', uid: 4242, gid: 4242 });
});

test('run_as naming root is the same as off', () => {
  const decision = resolveToolUser('root', 0, lookup);
  assert.equal(decision.user, undefined);
  assert.match(decision.warning ?? '', /"root" is root: tool commands run as root/);
});

test('an unknown user name is a config error naming the key', () => {
  assert.throws(
    () => resolveToolUser('ghost', 0, lookup),
    (error: unknown) => {
      assert.ok(error instanceof ConfigError);
      assert.equal(error.key, 'tools.run_as');
      assert.match(error.message, /tools\.run_as = "ghost": no such user/);
      return true;
    },
  );
});

test('another user when Herald is not root is a config error, not a silent no-op', () => {
  assert.throws(
    () => resolveToolUser('builder', 1000, lookup),
    /needs Herald to run as root to switch users/,
  );
  // Naming Herald's own user is allowed and warned about like auto.
  assert.match(resolveToolUser('herald', 1000, lookup).warning ?? '', /Herald's own user/);
});

test('the real passwd lookup finds root', () => {
  assert.equal(resolveToolUser('root', 0).warning?.includes('is root'), true);
});
