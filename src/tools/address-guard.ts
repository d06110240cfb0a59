/**
 * The server-side request forgery guard of `web_fetch`: decides whether an IP address is one the agent
 * must not reach on a user's behalf (loopback, private, link-local, CGNAT, unspecified, multicast and
 * reserved ranges, including those ranges wrapped in IPv6: IPv4-mapped, IPv4-compatible, NAT64 and
 * 6to4), and checks every address a host name resolves to. It works on bytes rather than strings, so
 * spellings like `::ffff:7f00:1` cannot slip past. `guardedLookup` turns the check into a socket `lookup`
 * option, so the addresses that were checked are the only ones the connection can use (no second DNS
 * answer for a rebinding server to change). It does not open connections itself.
 */
import { lookup as dnsLookup } from 'node:dns/promises';
import { isIP, isIPv4, type LookupFunction } from 'node:net';
import { BlockedAddressError, ToolError } from './errors.ts';

export interface LookupAddress {
  address: string;
  family: number;
}

/** Resolves a host name to all its addresses; injectable so tests never touch real DNS. */
export type HostLookup = (hostname: string) => Promise<LookupAddress[]>;

export const systemLookup: HostLookup = (hostname) => dnsLookup(hostname, { all: true, verbatim: true });

/** [first octets, prefix length] of IPv4 ranges that are not the public internet. */
const blockedV4: ReadonlyArray<readonly [number[], number]> = [
  [[0], 8], // "this network", incl. 0.0.0.0
  [[10], 8],
  [[100, 64], 10], // carrier-grade NAT
  [[127], 8],
  [[169, 254], 16], // link-local, incl. cloud metadata 169.254.169.254
  [[172, 16], 12],
  [[192, 0, 0], 24], // IETF protocol assignments
  [[192, 0, 2], 24], // documentation
  [[192, 168], 16],
  [[198, 18], 15], // benchmarking
  [[198, 51, 100], 24], // documentation
  [[203, 0, 113], 24], // documentation
  [[224], 4], // multicast
  [[240], 4], // reserved, incl. 255.255.255.255
];

/** [first bytes, prefix length] of IPv6 ranges that are not the public internet (IPv4-embedding ones apart). */
const blockedV6: ReadonlyArray<readonly [number[], number]> = [
  [[0xfc], 7], // unique local
  [[0xfe, 0x80], 10], // link-local
  [[0xfe, 0xc0], 10], // deprecated site-local
  [[0xff], 8], // multicast
  [[0x20, 0x01, 0x0d, 0xb8], 32], // documentation
];

function inPrefix(bytes: Uint8Array, prefix: readonly number[], bits: number): boolean {
  for (let bit = 0; bit < bits; bit += 8) {
    const index = bit / 8;
    const maskBits = Math.min(8, bits - bit);
    const mask = (0xff << (8 - maskBits)) & 0xff;
    if (((bytes[index] ?? 0) & mask) !== ((prefix[index] ?? 0) & mask)) return false;
  }
  return true;
}

function parseV4(address: string): Uint8Array {
  return Uint8Array.from(address.split('.').map(Number));
}

/** Expands any valid IPv6 spelling (`::`, embedded dotted IPv4, zone id) into its 16 bytes. */
function parseV6(address: string): Uint8Array {
  let text = address.replace(/%.*$/, '');
  const dotted = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (dotted?.[1]) {
    const [a = 0, b = 0, c = 0, d = 0] = parseV4(dotted[1]);
    text = `${text.slice(0, dotted.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head = '', tail] = text.split('::');
  const headGroups = head === '' ? [] : head.split(':');
  const tailGroups = tail === undefined || tail === '' ? [] : tail.split(':');
  const zeros = new Array<string>(8 - headGroups.length - tailGroups.length).fill('0');
  const groups = [...headGroups, ...(tail === undefined ? [] : zeros), ...tailGroups];
  const bytes = new Uint8Array(16);
  groups.forEach((group, i) => {
    const value = Number.parseInt(group, 16);
    bytes[i * 2] = value >> 8;
    bytes[i * 2 + 1] = value & 0xff;
  });
  return bytes;
}

function isBlockedV4(bytes: Uint8Array): boolean {
  return blockedV4.some(([prefix, bits]) => inPrefix(bytes, prefix, bits));
}

function isBlockedV6(bytes: Uint8Array): boolean {
  const allZeroUpTo = (n: number): boolean => bytes.subarray(0, n).every((b) => b === 0);
  if (allZeroUpTo(15) && (bytes[15] === 0 || bytes[15] === 1)) return true; // :: and ::1
  // IPv4-mapped (::ffff:a.b.c.d), IPv4-compatible (::a.b.c.d) and NAT64 (64:ff9b::a.b.c.d) carry an
  // IPv4 address in their last four bytes; 6to4 (2002:aabb:ccdd::) in bytes 2-5.
  const mapped = allZeroUpTo(10) && bytes[10] === 0xff && bytes[11] === 0xff;
  const compatible = allZeroUpTo(12);
  const nat64 = inPrefix(bytes, [0, 0x64, 0xff, 0x9b, 0, 0, 0, 0, 0, 0, 0, 0], 96);
  if ((mapped || compatible || nat64) && isBlockedV4(bytes.subarray(12, 16))) return true;
  if (inPrefix(bytes, [0x20, 0x02], 16) && isBlockedV4(bytes.subarray(2, 6))) return true;
  return blockedV6.some(([prefix, bits]) => inPrefix(bytes, prefix, bits));
}

/** A host as `URL.hostname` spells it, without the brackets around an IPv6 literal. */
export function unbracket(host: string): string {
  return host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
}

/** True for an address web_fetch must not reach; also true for anything that is not an IP address. */
export function isBlockedAddress(address: string): boolean {
  const bare = unbracket(address);
  if (isIPv4(bare)) return isBlockedV4(parseV4(bare));
  if (isIP(bare.replace(/%.*$/, '')) === 6) return isBlockedV6(parseV6(bare));
  return true;
}

/**
 * Resolves `hostname` (a name or an IP literal, as in `URL.hostname`) once and returns its addresses,
 * throwing `BlockedAddressError` if any of them is not public (unless `allowPrivate`).
 */
export async function resolveChecked(
  hostname: string,
  lookup: HostLookup,
  allowPrivate = false,
): Promise<LookupAddress[]> {
  const bare = unbracket(hostname);
  const family = isIP(bare);
  if (family !== 0) {
    if (!allowPrivate && isBlockedAddress(bare)) throw new BlockedAddressError(hostname, bare);
    return [{ address: bare, family }];
  }
  let addresses: LookupAddress[];
  try {
    addresses = await lookup(bare);
  } catch (error) {
    throw new ToolError('fetch_failed', `Could not resolve host ${hostname}: ${(error as Error).message}`, {
      cause: error,
    });
  }
  if (addresses.length === 0) throw new ToolError('fetch_failed', `Host ${hostname} has no addresses.`);
  if (!allowPrivate) {
    // Every address, not just the first: the socket may fall back to any of them.
    for (const { address } of addresses) {
      if (isBlockedAddress(address)) throw new BlockedAddressError(hostname, address);
    }
  }
  return addresses;
}

/**
 * Throws `BlockedAddressError` unless `hostname` (a name or an IP literal, as in `URL.hostname`) and
 * every address it resolves to are public.
 */
export async function assertPublicHost(hostname: string, lookup: HostLookup): Promise<void> {
  await resolveChecked(hostname, lookup);
}

/**
 * A `lookup` option for `net`/`tls`/`http(s)` connections that resolves through `lookup` once per
 * connection, checks every answer, and hands the socket only those checked addresses. Sockets skip
 * `lookup` for IP-literal hosts, so callers must check those themselves (`resolveChecked`).
 */
export function guardedLookup(lookup: HostLookup, allowPrivate: boolean): LookupFunction {
  return (hostname, options, callback) => {
    resolveChecked(hostname, lookup, allowPrivate).then(
      (addresses) => {
        const wanted = options.family === 4 || options.family === 6 ? options.family : 0;
        const usable = wanted === 0 ? addresses : addresses.filter((a) => a.family === wanted);
        const [first] = usable;
        if (first === undefined) {
          const error: NodeJS.ErrnoException = new Error(`Host ${hostname} has no IPv${wanted} address.`);
          error.code = 'ENOTFOUND';
          callback(error, '');
        } else if (options.all === true) callback(null, usable);
        else callback(null, first.address, first.family);
      },
      (error: unknown) => callback(error as NodeJS.ErrnoException, ''),
    );
  };
}
