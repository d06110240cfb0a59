import assert from 'node:assert/strict';
import { test } from 'node:test';
import { assertPublicHost, guardedLookup, type HostLookup, isBlockedAddress } from './address-guard.ts';
import { BlockedAddressError } from './errors.ts';

const blocked = [
  '127.0.0.1',
  '127.255.255.254',
  '0.0.0.0',
  '10.0.0.1',
  '172.16.0.1',
  '172.31.255.255',
  '192.168.1.1',
  '169.254.169.254',
  '100.64.0.1',
  '100.127.255.255',
  '224.0.0.1',
  '255.255.255.255',
  '::',
  '::1',
  '[::1]',
  'fc00::1',
  'fd12:3456::1',
  'fe80::1',
  'fe80::1%eth0',
  'ff02::1',
  '::ffff:127.0.0.1',
  '::ffff:7f00:1',
  '::ffff:10.0.0.1',
  '::ffff:a9fe:a9fe',
  '0:0:0:0:0:ffff:c0a8:0101',
  '::127.0.0.1',
  '64:ff9b::10.0.0.1',
  '2002:7f00:1::',
  'not-an-ip',
];

const allowed = [
  '8.8.8.8',
  '1.1.1.1',
  '172.32.0.1',
  '100.128.0.1',
  '93.184.216.34',
  '2606:4700:4700::1111',
  '::ffff:8.8.8.8',
  '64:ff9b::808:808',
  '2002:808:808::',
];

test('blocks loopback, private, link-local, CGNAT, unspecified and reserved addresses in every spelling', () => {
  for (const address of blocked) assert.equal(isBlockedAddress(address), true, address);
});

test('allows public addresses, including public IPv4 wrapped in IPv6', () => {
  for (const address of allowed) assert.equal(isBlockedAddress(address), false, address);
});

test('checks every address a host resolves to', async () => {
  const lookup: HostLookup = async () => [
    { address: '93.184.216.34', family: 4 },
    { address: '10.1.2.3', family: 4 },
  ];
  await assert.rejects(assertPublicHost('mixed.example', lookup), (error: unknown) => {
    assert.ok(error instanceof BlockedAddressError);
    assert.equal(error.address, '10.1.2.3');
    assert.match(error.message, /mixed\.example resolves to 10\.1\.2\.3/);
    return true;
  });
  await assertPublicHost('public.example', async () => [{ address: '93.184.216.34', family: 4 }]);
});

test('IP literals are judged without a lookup; lookup failures are clear errors', async () => {
  const noLookup: HostLookup = async () => assert.fail('lookup must not be called for an IP literal');
  await assert.rejects(assertPublicHost('[::1]', noLookup), BlockedAddressError);
  await assertPublicHost('8.8.8.8', noLookup);
  const failing: HostLookup = async () => {
    throw new Error('getaddrinfo ENOTFOUND nowhere.example');
  };
  await assert.rejects(assertPublicHost('nowhere.example', failing), {
    code: 'fetch_failed',
    message: /Could not resolve host nowhere\.example/,
  });
});

/** Calls a node-style `lookup` option and collects its callback arguments. */
function callLookup(
  fn: ReturnType<typeof guardedLookup>,
  host: string,
  options: { all?: boolean; family?: number },
): Promise<{ error: Error | null; address: unknown; family?: number }> {
  return new Promise((resolve) =>
    fn(host, options, (error, address, family) => resolve({ error, address, family })),
  );
}

test('guardedLookup resolves once, checks every answer and hands the socket only checked addresses', async () => {
  let calls = 0;
  const answers = [
    { address: '93.184.216.34', family: 4 },
    { address: '2606:2800:220:1::1', family: 6 },
  ];
  const lookup: HostLookup = async () => {
    calls++;
    return answers;
  };
  const guarded = guardedLookup(lookup, false);
  assert.deepEqual(await callLookup(guarded, 'public.example', { all: true }), {
    error: null,
    address: answers,
    family: undefined,
  });
  assert.deepEqual(await callLookup(guarded, 'public.example', { family: 6 }), {
    error: null,
    address: '2606:2800:220:1::1',
    family: 6,
  });
  assert.equal(calls, 2, 'one resolution per socket lookup');

  const rebound = guardedLookup(async () => [{ address: '127.0.0.1', family: 4 }], false);
  const refused = await callLookup(rebound, 'rebind.example', { all: true });
  assert.ok(refused.error instanceof BlockedAddressError);
  assert.equal(refused.address, '');

  const allowed = guardedLookup(async () => [{ address: '127.0.0.1', family: 4 }], true);
  assert.equal((await callLookup(allowed, 'local.example', {})).address, '127.0.0.1');
});
