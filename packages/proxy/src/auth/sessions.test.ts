import { SignJWT } from 'jose';
import { describe, expect, it } from 'vitest';
import type { SessionConfig } from './config.js';
import { issueSessionToken, newAnonymousPlayer, SESSION_PREFIX, verifySessionToken } from './sessions.js';
import { b64, expectProxyError, SESSION_SECRET } from './test-fixtures.js';

const config: SessionConfig = {
  secret: SESSION_SECRET,
  ttlSeconds: 3600,
  refreshGraceSeconds: 600,
  ratePerMinute: 10,
};
const T0 = Date.UTC(2026, 0, 1);

describe('newAnonymousPlayer', () => {
  it('is anon_ + 24 base62 characters and never repeats', () => {
    const ids = new Set(Array.from({ length: 1000 }, newAnonymousPlayer));
    expect(ids.size).toBe(1000);
    for (const id of ids) expect(id).toMatch(/^anon_[A-Za-z0-9]{24}$/);
  });
});

describe('session tokens', () => {
  it('issues a sess- token for a new anonymous player that verifies to the same player', async () => {
    const issued = await issueSessionToken(config, { now: T0 });
    expect(issued.token.startsWith(SESSION_PREFIX)).toBe(true);
    expect(issued.player).toMatch(/^anon_[A-Za-z0-9]{24}$/);
    expect(issued.expires_at).toBe(T0 / 1000 + 3600);
    await expect(verifySessionToken(config, issued.token, { now: T0 + 1000 })).resolves.toEqual({
      player: issued.player,
      expiresAt: issued.expires_at,
    });
  });

  it('refuses an expired token, but lets it be refreshed within the grace window', async () => {
    const { token, player } = await issueSessionToken(config, { now: T0 });
    const justExpired = T0 + 3600_000 + 1000;
    const error = await expectProxyError(verifySessionToken(config, token, { now: justExpired }), 401);
    expect(error.message).toMatch(/expired/);
    expect(error.headers['WWW-Authenticate']).toMatch(/^Bearer /);
    await expect(
      verifySessionToken(config, token, { refresh: true, now: justExpired }),
    ).resolves.toMatchObject({
      player,
    });
  });

  it('refuses to refresh a token that expired longer ago than the grace window', async () => {
    const { token } = await issueSessionToken(config, { now: T0 });
    const tooLate = T0 + (3600 + 601) * 1000;
    const error = await expectProxyError(
      verifySessionToken(config, token, { refresh: true, now: tooLate }),
      401,
    );
    expect(error.message).toMatch(/too long ago/);
  });

  it('refuses a tampered payload (another player id under the original signature)', async () => {
    const { token } = await issueSessionToken(config, { now: T0 });
    const [header, , signature] = token.slice(SESSION_PREFIX.length).split('.');
    const payload = b64({
      sub: newAnonymousPlayer(),
      iss: 'parley-proxy',
      aud: 'parley-session',
      iat: T0 / 1000,
      exp: T0 / 1000 + 3600,
    });
    const tampered = `${SESSION_PREFIX}${header}.${payload}.${signature}`;
    const error = await expectProxyError(verifySessionToken(config, tampered, { now: T0 }), 401);
    expect(error.message).toBe('The session token is invalid.');
  });

  it('refuses a token signed with another secret', async () => {
    const other = { ...config, secret: 'another-proxys-session-secret-0123456789abcdef' };
    const { token } = await issueSessionToken(other, { now: T0 });
    await expectProxyError(verifySessionToken(config, token, { now: T0 }), 401);
  });

  it('refuses a JWT signed with the right secret that is not a session token', async () => {
    // Right secret, issuer and audience, but not typed as a session token.
    const jwt = await new SignJWT({ sub: newAnonymousPlayer() })
      .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
      .setIssuer('parley-proxy')
      .setAudience('parley-session')
      .setIssuedAt(T0 / 1000)
      .setExpirationTime(T0 / 1000 + 60)
      .sign(new TextEncoder().encode(SESSION_SECRET));
    await expectProxyError(verifySessionToken(config, SESSION_PREFIX + jwt, { now: T0 }), 401);
  });

  it('refuses an unsigned (alg: none) session token', async () => {
    const claims = {
      sub: newAnonymousPlayer(),
      iss: 'parley-proxy',
      aud: 'parley-session',
      iat: T0 / 1000,
      exp: T0 / 1000 + 3600,
    };
    const unsigned = `${SESSION_PREFIX}${b64({ alg: 'none', typ: 'parley-session+jwt' })}.${b64(claims)}.`;
    await expectProxyError(verifySessionToken(config, unsigned, { now: T0 }), 401);
  });

  it('refuses a token without the sess- prefix', async () => {
    const { token } = await issueSessionToken(config, { now: T0 });
    await expectProxyError(verifySessionToken(config, token.slice(SESSION_PREFIX.length), { now: T0 }), 401);
  });
});
