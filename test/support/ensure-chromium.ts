/**
 * Makes sure the browser tests have Debian's `chromium` at /usr/bin/chromium: present → its path; missing
 * and running as root → installs it with apt-get (idempotent: a second call finds it); missing otherwise
 * → a reason to skip the tests with. It does not download browsers any other way (no Playwright
 * browser downloads), and it installs only on the first call of a process.
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';

export const CHROMIUM_PATH = '/usr/bin/chromium';

/** The path of a usable Chromium, or `{ skip }` saying why there is none. */
export function ensureChromium(): { path: string } | { skip: string } {
  if (existsSync(CHROMIUM_PATH)) return { path: CHROMIUM_PATH };
  if (process.platform !== 'linux' || process.getuid?.() !== 0) {
    return {
      skip: `${CHROMIUM_PATH} is missing and we are not root: install Debian's chromium package to run the browser tests`,
    };
  }
  if (!existsSync('/usr/bin/apt-get'))
    return { skip: `${CHROMIUM_PATH} is missing and there is no apt-get to install it` };
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  execFileSync('apt-get', ['update'], { stdio: 'ignore', env, timeout: 300_000 });
  execFileSync('apt-get', ['install', '-y', 'chromium'], { stdio: 'ignore', env, timeout: 600_000 });
  return existsSync(CHROMIUM_PATH)
    ? { path: CHROMIUM_PATH }
    : { skip: `apt-get install chromium did not provide ${CHROMIUM_PATH}` };
}
