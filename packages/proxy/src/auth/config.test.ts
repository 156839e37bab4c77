import { describe, expect, it } from 'vitest';
import { authModes, loadAuthConfig } from './config.js';
import { AuthConfigError } from './errors.js';
import { ADMIN_TOKEN, JWT_SECRET, SESSION_SECRET } from './test-fixtures.js';

const JWT_ENV = {
  PARLEY_JWT_SECRET: JWT_SECRET,
  PARLEY_JWT_ISSUER: 'https://game.example',
  PARLEY_JWT_AUDIENCE: 'parley',
};

function configError(env: Record<string, string>): string {
  try {
    loadAuthConfig(env);
  } catch (error) {
    expect(error).toBeInstanceOf(AuthConfigError);
    return (error as Error).message;
  }
  throw new Error('expected an AuthConfigError');
}

describe('loadAuthConfig', () => {
  it('defaults to dev mode, and only dev mode, when no secret is configured', () => {
    const config = loadAuthConfig({});
    expect(authModes(config)).toEqual(['dev']);
    expect(config.session).toBeUndefined();
    expect(config.jwt).toBeUndefined();
  });

  it('turns on the modes whose secrets are set, without dev', () => {
    const config = loadAuthConfig({ PARLEY_SESSION_SECRET: SESSION_SECRET, ...JWT_ENV });
    expect(authModes(config)).toEqual(['session', 'jwt']);
    expect(config.session).toEqual({
      secret: SESSION_SECRET,
      ttlSeconds: 3600,
      refreshGraceSeconds: 600,
      ratePerMinute: 10,
    });
    expect(config.jwt).toEqual({
      key: { kind: 'secret', secret: JWT_SECRET },
      issuer: 'https://game.example',
      audience: 'parley',
    });
  });

  it('follows an explicit PARLEY_AUTH list, ignoring secrets of modes left out', () => {
    const config = loadAuthConfig({
      PARLEY_AUTH: 'session, dev',
      PARLEY_SESSION_SECRET: SESSION_SECRET,
      ...JWT_ENV,
    });
    expect(authModes(config)).toEqual(['session', 'dev']);
  });

  it('reads the TTL and the per-IP rate', () => {
    const config = loadAuthConfig({
      PARLEY_SESSION_SECRET: SESSION_SECRET,
      PARLEY_SESSION_TTL_SECONDS: '900',
      PARLEY_SESSION_RATE_PER_MINUTE: '3',
    });
    expect(config.session?.ttlSeconds).toBe(900);
    expect(config.session?.ratePerMinute).toBe(3);
  });

  it('names the variable at fault', () => {
    expect(configError({ PARLEY_AUTH: 'session,magic' })).toMatch(/PARLEY_AUTH.*magic/);
    expect(configError({ PARLEY_AUTH: ' , ' })).toMatch(/PARLEY_AUTH/);
    expect(configError({ PARLEY_AUTH: 'session' })).toMatch(/PARLEY_SESSION_SECRET/);
    expect(configError({ PARLEY_SESSION_SECRET: 'too-short' })).toMatch(/PARLEY_SESSION_SECRET.*32 bytes/);
    expect(configError({ PARLEY_SESSION_SECRET: SESSION_SECRET, PARLEY_SESSION_TTL_SECONDS: '1h' })).toMatch(
      /PARLEY_SESSION_TTL_SECONDS/,
    );
    expect(
      configError({ PARLEY_SESSION_SECRET: SESSION_SECRET, PARLEY_SESSION_RATE_PER_MINUTE: '0' }),
    ).toMatch(/PARLEY_SESSION_RATE_PER_MINUTE/);
    expect(configError({ ...JWT_ENV, PARLEY_JWT_ISSUER: '' })).toMatch(/PARLEY_JWT_ISSUER/);
    expect(configError({ ...JWT_ENV, PARLEY_JWT_AUDIENCE: '' })).toMatch(/PARLEY_JWT_AUDIENCE/);
    expect(configError({ ...JWT_ENV, PARLEY_JWT_SECRET: 'short' })).toMatch(/PARLEY_JWT_SECRET/);
    expect(configError({ PARLEY_ADMIN_TOKEN: 'short' })).toMatch(/PARLEY_ADMIN_TOKEN/);
    expect(configError({ PARLEY_ADMIN_TOKEN: `${ADMIN_TOKEN} with spaces` })).toMatch(/PARLEY_ADMIN_TOKEN/);
  });

  it('fails on a half-configured JWT setup instead of falling back to dev mode', () => {
    expect(configError({ PARLEY_JWT_ISSUER: 'https://game.example' })).toMatch(
      /PARLEY_JWT_SECRET.*PARLEY_JWT_JWKS_URL/,
    );
  });

  it('takes exactly one JWT key source', () => {
    expect(configError({ ...JWT_ENV, PARLEY_JWT_JWKS_URL: 'https://game.example/jwks.json' })).toMatch(
      /not both/,
    );
    const { PARLEY_JWT_SECRET: _, ...rest } = JWT_ENV;
    expect(
      loadAuthConfig({ ...rest, PARLEY_JWT_JWKS_URL: 'https://game.example/jwks.json' }).jwt?.key,
    ).toEqual({
      kind: 'jwks',
      url: 'https://game.example/jwks.json',
    });
  });

  it('fetches JWKS over https only, except from a loopback host', () => {
    const { PARLEY_JWT_SECRET: _, ...rest } = JWT_ENV;
    expect(configError({ ...rest, PARLEY_JWT_JWKS_URL: 'http://game.example/jwks.json' })).toMatch(
      /PARLEY_JWT_JWKS_URL.*https/,
    );
    expect(configError({ ...rest, PARLEY_JWT_JWKS_URL: 'not a url' })).toMatch(/PARLEY_JWT_JWKS_URL/);
    expect(loadAuthConfig({ ...rest, PARLEY_JWT_JWKS_URL: 'http://127.0.0.1:9000/jwks' }).jwt?.key.kind).toBe(
      'jwks',
    );
  });

  it('refuses one secret for two purposes', () => {
    expect(configError({ PARLEY_SESSION_SECRET: JWT_SECRET, ...JWT_ENV })).toMatch(
      /PARLEY_SESSION_SECRET and PARLEY_JWT_SECRET/,
    );
    expect(
      configError({ PARLEY_SESSION_SECRET: SESSION_SECRET, PARLEY_ADMIN_TOKEN: SESSION_SECRET }),
    ).toMatch(/PARLEY_SESSION_SECRET and PARLEY_ADMIN_TOKEN/);
  });

  it('keeps the admin token, which does not turn dev mode off', () => {
    const config = loadAuthConfig({ PARLEY_ADMIN_TOKEN: ADMIN_TOKEN });
    expect(config.adminToken).toBe(ADMIN_TOKEN);
    expect(config.dev).toBe(true);
  });
});
