import { SignJWT } from 'jose';
import { describe, expect, it } from 'vitest';
import { ProxyError } from '../errors.js';
import { createAuthenticator, MAX_AUTHORIZATION_LENGTH } from './authenticate.js';
import type { AuthConfig } from './config.js';
import { AuthConfigError } from './errors.js';
import {
  ADMIN_TOKEN,
  expectProxyError,
  fakeRequest,
  JWT_SECRET,
  localServer,
  SESSION_SECRET,
} from './test-fixtures.js';

const T0 = Date.UTC(2026, 0, 1);
const session = { secret: SESSION_SECRET, ttlSeconds: 3600, refreshGraceSeconds: 600, ratePerMinute: 3 };
const jwt = {
  key: { kind: 'secret', secret: JWT_SECRET },
  issuer: 'https://game.example',
  audience: 'parley',
} as const;
const full: AuthConfig = { session, jwt, dev: false, adminToken: ADMIN_TOKEN };

function clock(start = T0) {
  let current = start;
  return { now: () => current, advance: (ms: number) => (current += ms) };
}

const bearer = (token: string) => fakeRequest({ authorization: `Bearer ${token}` });

function gameJwt(sub = 'player-42') {
  return new SignJWT({ sub })
    .setProtectedHeader({ alg: 'HS256' })
    .setIssuer(jwt.issuer)
    .setAudience(jwt.audience)
    .setIssuedAt(T0 / 1000)
    .setExpirationTime(T0 / 1000 + 300)
    .sign(new TextEncoder().encode(JWT_SECRET));
}

describe('createAuthenticator', () => {
  it('refuses a configuration that identifies nobody', () => {
    expect(() => createAuthenticator({ dev: false })).toThrow(AuthConfigError);
    expect(() => createAuthenticator({ dev: false }, { hook: () => null })).not.toThrow();
  });

  it('refuses dev mode on a non-loopback listen host', () => {
    expect(() => createAuthenticator({ dev: true }, { host: '0.0.0.0' })).toThrow(AuthConfigError);
    expect(() => createAuthenticator({ dev: true }, { host: '127.0.0.1' })).not.toThrow();
    expect(() => createAuthenticator({ ...full, dev: false }, { host: '0.0.0.0' })).not.toThrow();
  });

  it('refuses short secrets passed in programmatically', () => {
    expect(() => createAuthenticator({ dev: false, session: { ...session, secret: 'short' } })).toThrow(
      /PARLEY_SESSION_SECRET/,
    );
  });
});

describe('sessions through the authenticator', () => {
  it('issues a session whose sess- token authenticates as that anonymous player', async () => {
    const { now } = clock();
    const auth = createAuthenticator(full, { now });
    const issued = await auth.issueSession(fakeRequest({}, '203.0.113.7'));
    await expect(auth.authenticate(bearer(issued.token))).resolves.toEqual({
      player: issued.player,
      via: 'session',
      admin: false,
      expiresAt: issued.expires_at,
    });
  });

  it('remembers a verified session token until it expires, and no longer', async () => {
    const { now, advance } = clock();
    const auth = createAuthenticator(full, { now });
    const issued = await auth.issueSession(fakeRequest({}, '203.0.113.8'));
    for (let i = 0; i < 3; i++) {
      await expect(auth.authenticate(bearer(issued.token))).resolves.toMatchObject({ player: issued.player });
    }
    // A tampered copy of a token that is remembered is not the remembered token.
    const tampered = `${issued.token.slice(0, -2)}${issued.token.endsWith('AA') ? 'BB' : 'AA'}`;
    await expectProxyError(auth.authenticate(bearer(tampered)), 401);
    // Expiry holds for a remembered token exactly as for a fresh one.
    advance((issued.expires_at - T0 / 1000) * 1000 - 1);
    await expect(auth.authenticate(bearer(issued.token))).resolves.toMatchObject({ player: issued.player });
    advance(1);
    await expectProxyError(auth.authenticate(bearer(issued.token)), 401);
  });

  it('refreshes to the same player, also shortly after expiry, but not beyond the grace window', async () => {
    const time = clock();
    const auth = createAuthenticator(full, { now: time.now });
    const first = await auth.issueSession(fakeRequest());

    time.advance(3600_000 + 5_000);
    await expectProxyError(auth.authenticate(bearer(first.token)), 401);
    const second = await auth.refreshSession(bearer(first.token));
    expect(second.player).toBe(first.player);
    expect(second.expires_at).toBe(first.expires_at + 3605);
    await expect(auth.authenticate(bearer(second.token))).resolves.toMatchObject({ player: first.player });

    time.advance(3600_000 + 601_000);
    const error = await expectProxyError(auth.refreshSession(bearer(second.token)), 401);
    expect(error.message).toMatch(/too long ago/);
  });

  it('refresh requires a session token', async () => {
    const auth = createAuthenticator(full, { now: clock().now });
    await expectProxyError(auth.refreshSession(fakeRequest()), 401);
    await expectProxyError(auth.refreshSession(bearer(await gameJwt())), 401);
  });

  it('limits new sessions per IP, answering 429 with Retry-After', async () => {
    const time = clock();
    const auth = createAuthenticator(full, { now: time.now });
    for (let i = 0; i < 3; i++) await auth.issueSession(fakeRequest({}, '203.0.113.7'));
    time.advance(15_000);
    const error = await expectProxyError(auth.issueSession(fakeRequest({}, '203.0.113.7')), 429);
    expect(error.code).toBe('rate_limit_exceeded');
    expect(error.type).toBe('rate_limit_error');
    expect(error.headers['Retry-After']).toBe('45');
    // Another address is not affected; the same address may come back after the window.
    await expect(auth.issueSession(fakeRequest({}, '198.51.100.1'))).resolves.toBeDefined();
    time.advance(45_000);
    await expect(auth.issueSession(fakeRequest({}, '203.0.113.7'))).resolves.toBeDefined();
  });

  it('counts IPv6 clients per /64 and can take the address from a trusted reverse proxy', async () => {
    const auth = createAuthenticator(full, {
      now: clock().now,
      clientAddress: (req) => String(req.headers['x-real-ip']),
    });
    for (let i = 1; i <= 3; i++) await auth.issueSession(fakeRequest({ 'x-real-ip': `2001:db8:1:2::${i}` }));
    await expectProxyError(auth.issueSession(fakeRequest({ 'x-real-ip': '2001:db8:1:2::99' })), 429);
  });

  it('answers 404 for session endpoints when sessions are off', async () => {
    const auth = createAuthenticator({ jwt, dev: false });
    await expectProxyError(auth.issueSession(fakeRequest()), 404);
    await expectProxyError(auth.refreshSession(fakeRequest()), 404);
  });
});

describe('authenticate', () => {
  it('names the JWT player jwt:<sub>', async () => {
    const auth = createAuthenticator(full, { now: clock().now });
    await expect(auth.authenticate(bearer(await gameJwt()))).resolves.toEqual({
      player: 'jwt:player-42',
      via: 'jwt',
      admin: false,
      expiresAt: T0 / 1000 + 300,
    });
  });

  it('answers 401 with a Bearer challenge when there are no credentials', async () => {
    const auth = createAuthenticator(full);
    const error = await expectProxyError(auth.authenticate(fakeRequest()), 401);
    expect(error.code).toBe('unauthorized');
    expect(error.headers['WWW-Authenticate']).toBe('Bearer realm="parley"');
  });

  it('refuses an Authorization header longer than 4 KB, even in dev mode', async () => {
    const auth = createAuthenticator({ ...full, dev: true });
    const long = `Bearer ${'a'.repeat(MAX_AUTHORIZATION_LENGTH)}`;
    const error = await expectProxyError(auth.authenticate(fakeRequest({ authorization: long })), 401);
    expect(error.message).toBe('The Authorization header is too long.');
    expect(auth.isAdmin(fakeRequest({ authorization: long }))).toBe(false);
  });

  it('refuses other schemes and malformed values', async () => {
    const auth = createAuthenticator(full);
    for (const authorization of ['Basic dXNlcjpwYXNz', 'Bearer', 'Bearer a b', 'Token abc']) {
      const error = await expectProxyError(auth.authenticate(fakeRequest({ authorization })), 401);
      expect(error.message).toMatch(/Bearer <token>/);
    }
  });

  it('refuses a session token when only JWTs are on, and a JWT when only sessions are', async () => {
    const sessionsOnly = createAuthenticator({ session, dev: false }, { now: clock().now });
    const jwtOnly = createAuthenticator({ jwt, dev: false }, { now: clock().now });
    const issued = await sessionsOnly.issueSession(fakeRequest());
    await expectProxyError(jwtOnly.authenticate(bearer(issued.token)), 401);
    await expectProxyError(sessionsOnly.authenticate(bearer(await gameJwt())), 401);
  });

  it('never echoes the token in its messages', async () => {
    const auth = createAuthenticator(full, { now: clock().now });
    const secretish = 'sess-eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl';
    const error = await expectProxyError(auth.authenticate(bearer(secretish)), 401);
    expect(error.message).not.toContain('eyJ');
  });
});

describe('admin token', () => {
  it('identifies the operator, and only with the exact token', async () => {
    const auth = createAuthenticator(full);
    expect(auth.isAdmin(bearer(ADMIN_TOKEN))).toBe(true);
    expect(auth.isAdmin(fakeRequest({ authorization: `bearer ${ADMIN_TOKEN}` }))).toBe(true);
    expect(auth.isAdmin(bearer(`${ADMIN_TOKEN}x`))).toBe(false);
    expect(auth.isAdmin(bearer(ADMIN_TOKEN.slice(0, -1)))).toBe(false);
    expect(auth.isAdmin(fakeRequest())).toBe(false);
    await expect(auth.authenticate(bearer(ADMIN_TOKEN))).resolves.toEqual({
      player: 'admin',
      via: 'admin',
      admin: true,
    });
    await expectProxyError(auth.authenticate(bearer(`${ADMIN_TOKEN}x`)), 401);
  });

  it('is never admin when no admin token is configured', async () => {
    const auth = createAuthenticator({ session, dev: false });
    expect(auth.isAdmin(bearer(ADMIN_TOKEN))).toBe(false);
  });

  it('is not granted to players', async () => {
    const auth = createAuthenticator(full, { now: clock().now });
    const issued = await auth.issueSession(fakeRequest());
    expect(auth.isAdmin(bearer(issued.token))).toBe(false);
    expect(auth.isAdmin(bearer(await gameJwt()))).toBe(false);
  });
});

describe('the hook', () => {
  it('takes precedence over sessions and JWTs, and its players are namespaced', async () => {
    const auth = createAuthenticator(full, {
      now: clock().now,
      hook: (req) => (req.headers.cookie === 'game=knight' ? { player: 'knight' } : null),
    });
    const issued = await auth.issueSession(fakeRequest());
    await expect(
      auth.authenticate(fakeRequest({ cookie: 'game=knight', authorization: `Bearer ${issued.token}` })),
    ).resolves.toEqual({ player: 'hook:knight', via: 'hook', admin: false });
    // Returning null falls through to the token.
    await expect(auth.authenticate(bearer(issued.token))).resolves.toMatchObject({ via: 'session' });
  });

  it('comes after the admin token, may be async, and may read schemes the proxy does not', async () => {
    const auth = createAuthenticator(full, {
      hook: async (req) =>
        req.headers.authorization === 'Basic Z2FtZQ==' ? { player: 'basic-user' } : { player: 'everyone' },
    });
    await expect(auth.authenticate(bearer(ADMIN_TOKEN))).resolves.toMatchObject({ via: 'admin' });
    await expect(auth.authenticate(fakeRequest({ authorization: 'Basic Z2FtZQ==' }))).resolves.toMatchObject({
      player: 'hook:basic-user',
    });
  });

  it('can refuse outright by throwing', async () => {
    const auth = createAuthenticator(full, {
      hook: () => {
        throw new ProxyError('permission_denied', 'Banned.');
      },
    });
    await expectProxyError(auth.authenticate(fakeRequest()), 403);
  });

  it('treats an unusable player id from the hook as a bug, not as a 401', async () => {
    const auth = createAuthenticator({ dev: false }, { hook: () => ({ player: '' }) });
    await expect(auth.authenticate(fakeRequest())).rejects.toThrow(TypeError);
  });
});

describe('dev mode', () => {
  const dev = createAuthenticator({ dev: true }, { host: '127.0.0.1' });

  it('names the player from X-Parley-Player, or dev-player', async () => {
    await expect(dev.authenticate(fakeRequest({ 'x-parley-player': 'alice' }))).resolves.toEqual({
      player: 'dev:alice',
      via: 'dev',
      admin: false,
    });
    await expect(dev.authenticate(fakeRequest())).resolves.toEqual({
      player: 'dev:dev-player',
      via: 'dev',
      admin: false,
    });
  });

  it('accepts the placeholder key SDK clients always send', async () => {
    await expect(dev.authenticate(bearer('unused'))).resolves.toMatchObject({ via: 'dev' });
  });

  it('rejects a malformed player header with 400', async () => {
    const error = await expectProxyError(dev.authenticate(fakeRequest({ 'x-parley-player': 'a, b' })), 400);
    expect(error.param).toBe('X-Parley-Player');
    await expectProxyError(dev.authenticate(fakeRequest({ 'x-parley-player': 'x'.repeat(65) })), 400);
  });

  it('serves only requests from this machine', async () => {
    await expect(dev.authenticate(fakeRequest({}, '::1'))).resolves.toMatchObject({ via: 'dev' });
    await expect(dev.authenticate(fakeRequest({}, '::ffff:127.0.0.1'))).resolves.toMatchObject({
      via: 'dev',
    });
    await expectProxyError(dev.authenticate(fakeRequest({}, '192.168.1.20')), 401);
  });

  it('does not turn a refused session token into a dev player', async () => {
    const auth = createAuthenticator({ session, dev: true });
    await expectProxyError(auth.authenticate(bearer('sess-forged.token.value')), 401);
  });
});

describe('over real HTTP', () => {
  it('issues a session with POST and accepts it on the next request', async () => {
    const auth = createAuthenticator({ session, dev: false });
    const server = await localServer(async (req, res) => {
      try {
        const body =
          req.method === 'POST' && req.url === '/v1/sessions'
            ? await auth.issueSession(req)
            : await auth.authenticate(req);
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body));
      } catch (error) {
        const status = error instanceof ProxyError ? error.status : 500;
        res.writeHead(status, error instanceof ProxyError ? error.headers : {}).end();
      }
    });
    try {
      const created = await fetch(`${server.url}/v1/sessions`, { method: 'POST' });
      expect(created.status).toBe(200);
      const { token, player } = (await created.json()) as { token: string; player: string };
      const me = await fetch(`${server.url}/v1/me`, { headers: { Authorization: `Bearer ${token}` } });
      expect(await me.json()).toMatchObject({ player, via: 'session' });
      const anonymous = await fetch(`${server.url}/v1/me`);
      expect(anonymous.status).toBe(401);
      expect(anonymous.headers.get('www-authenticate')).toMatch(/^Bearer/);
    } finally {
      await server.close();
    }
  });
});
