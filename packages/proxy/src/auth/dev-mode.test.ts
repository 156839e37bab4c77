import { describe, expect, it } from 'vitest';
import { assertDevModeAllowed, DEV_MODE_BANNER, expandIPv6, isLoopback } from './dev-mode.js';
import { AuthConfigError } from './errors.js';

describe('isLoopback', () => {
  it.each([
    '127.0.0.1',
    '127.8.9.10',
    '::1',
    '[::1]',
    '0:0:0:0:0:0:0:1',
    'localhost',
    'LOCALHOST',
    '::ffff:127.0.0.1',
  ])('accepts %s', (host) => expect(isLoopback(host)).toBe(true));

  it.each([
    '0.0.0.0',
    '::',
    '',
    '192.168.1.20',
    '10.0.0.1',
    '128.0.0.1',
    '::2',
    '::ffff:10.0.0.1',
    'example.com',
    'localhost.example.com',
  ])('refuses %s', (host) => expect(isLoopback(host)).toBe(false));
});

describe('assertDevModeAllowed', () => {
  it('lets dev mode listen on loopback', () => {
    expect(() => assertDevModeAllowed('127.0.0.1')).not.toThrow();
    expect(() => assertDevModeAllowed('::1')).not.toThrow();
    expect(() => assertDevModeAllowed('localhost')).not.toThrow();
  });

  it('refuses to start dev mode on any other address, naming HOST and PARLEY_AUTH', () => {
    for (const host of ['0.0.0.0', '::', '192.168.1.20', 'game.example']) {
      expect(() => assertDevModeAllowed(host)).toThrow(AuthConfigError);
      expect(() => assertDevModeAllowed(host)).toThrow(/HOST.*PARLEY_AUTH|PARLEY_AUTH.*HOST/);
    }
  });

  it('has a banner that cannot be missed', () => {
    expect(DEV_MODE_BANNER).toMatch(/DEV MODE/);
    expect(DEV_MODE_BANNER).toMatch(/NOT AUTHENTICATED/);
  });
});

describe('expandIPv6', () => {
  it('expands compressed and IPv4-tailed addresses to eight groups', () => {
    expect(expandIPv6('2001:db8::1')).toBe('2001:0db8:0000:0000:0000:0000:0000:0001');
    expect(expandIPv6('::')).toBe('0000:0000:0000:0000:0000:0000:0000:0000');
    expect(expandIPv6('::ffff:127.0.0.1')).toBe('0000:0000:0000:0000:0000:ffff:7f00:0001');
    expect(expandIPv6('fe80::1%eth0')).toBe('fe80:0000:0000:0000:0000:0000:0000:0001');
  });
});
