import { isIPv4, isIPv6 } from 'node:net';
import { AuthConfigError } from './errors.js';

/** What the CLI prints, on its own lines, whenever dev mode is on. */
export const DEV_MODE_BANNER = [
  '',
  '!!! PARLEY DEV MODE: PLAYERS ARE NOT AUTHENTICATED !!!',
  '!!! Any caller may act as any player (X-Parley-Player header), and spend your model key if one is set.',
  '!!! Listening on loopback only. For anything reachable by others set PARLEY_SESSION_SECRET',
  '!!! and/or PARLEY_JWT_SECRET / PARLEY_JWT_JWKS_URL, and leave "dev" out of PARLEY_AUTH.',
  '',
].join('\n');

/**
 * Whether `host` (a listen host, URL hostname or socket address) is this machine only: `localhost`,
 * 127.0.0.0/8, `::1`, or 127.0.0.0/8 mapped into IPv6. Wildcards (`0.0.0.0`, `::`) are not loopback.
 *
 * @example
 * isLoopback('127.0.0.1'); // true
 * isLoopback('0.0.0.0'); // false
 */
export function isLoopback(host: string): boolean {
  let value = host.trim().toLowerCase();
  if (value.startsWith('[') && value.endsWith(']')) value = value.slice(1, -1);
  if (value === 'localhost') return true;
  if (isIPv4(value)) return value.startsWith('127.');
  if (!isIPv6(value)) return false;
  const full = expandIPv6(value);
  // ::1, or 127.0.0.0/8 as an IPv4-mapped address (::ffff:127.x.y.z).
  return (
    full === '0000:0000:0000:0000:0000:0000:0000:0001' || full.startsWith('0000:0000:0000:0000:0000:ffff:7f')
  );
}

/**
 * Refuses dev mode unless the proxy listens on a loopback address: dev mode trusts a header for the
 * player's identity, so it must never be reachable from another machine.
 *
 * @throws {AuthConfigError} naming `HOST` and `PARLEY_AUTH` when `host` is not loopback.
 * @example
 * if (auth.dev) { assertDevModeAllowed(config.host); console.warn(DEV_MODE_BANNER); }
 */
export function assertDevModeAllowed(host: string): void {
  if (isLoopback(host)) return;
  throw new AuthConfigError(
    `Dev mode (PARLEY_AUTH includes 'dev', the default when no PARLEY_SESSION_SECRET or PARLEY_JWT_* is set) ` +
      `lets anyone act as any player, so it only listens on a loopback address; HOST is '${host}'. ` +
      'Set HOST=127.0.0.1, or configure sessions or JWTs.',
  );
}

/** Full 8-group lowercase form of an IPv6 address (no zone); callers check `isIPv6` first. */
export function expandIPv6(address: string): string {
  let value = address.toLowerCase().split('%')[0] ?? '';
  // An embedded IPv4 tail is two groups.
  const v4 = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(value);
  if (v4) {
    const [a, b, c, d] = v4.slice(1).map(Number) as [number, number, number, number];
    value = `${value.slice(0, v4.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head = '', tail] = value.split('::');
  const left = head ? head.split(':') : [];
  const right = tail ? tail.split(':') : [];
  const middle = tail === undefined ? [] : Array<string>(8 - left.length - right.length).fill('0');
  return [...left, ...middle, ...right].map((group) => group.padStart(4, '0')).join(':');
}
