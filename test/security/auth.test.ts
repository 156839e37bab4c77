/**
 * Identity: forged, expired, wrong-audience, wrong-issuer and `alg: none` tokens, sent through the HTTP
 * proxy in session and JWT (HS256 and JWKS) modes. Every refused token gets a 401 in OpenAI's error body
 * with a `WWW-Authenticate` challenge, and nothing it asked for happens (no thread, no upstream call).
 */
import { generateKeyPairSync } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ADMIN_TOKEN,
  as,
  bearer,
  call,
  expectError,
  FAKE_MODEL,
  forgeJwt,
  gameJwt,
  JWT_AUDIENCE,
  JWT_ISSUER,
  JWT_SECRET,
  newSession,
  nowSeconds,
  PRODUCTION_AUTH,
  type Reply,
  SESSION_SECRET,
  type Started,
  sessionToken,
  startProxy,
} from './support.ts';
import { attack, attackEach, reportFile } from './tally.ts';

reportFile(import.meta.url);

const CHAT = { model: FAKE_MODEL, messages: [{ role: 'user', content: 'Open the gate.' }] };

let main: Started;
beforeAll(async () => {
  main = await startProxy({ fake: true, env: PRODUCTION_AUTH });
});
afterAll(async () => {
  await main?.close();
});

/** A refused credential: 401 with a challenge, and neither the thread nor the upstream call happened. */
async function expectRefused(base: Started, authorization: string | undefined): Promise<void> {
  const headers: Record<string, string> = authorization === undefined ? {} : { authorization };
  const upstreamBefore = base.fake?.requests.length ?? 0;
  const replies: Reply[] = [
    await call(base.url, 'POST', '/v1/chat/completions', CHAT, headers),
    await call(base.url, 'POST', '/v1/threads', { metadata: { probe: 'auth' } }, headers),
    await call(base.url, 'GET', '/v1/usage', undefined, headers),
  ];
  for (const reply of replies) {
    expectError(reply, 401, 'unauthorized');
    expect(reply.headers['www-authenticate']).toMatch(/^Bearer realm="parley"/);
    expect(reply.json.error.type).toBe('authentication_error');
  }
  expect(base.fake?.requests.length ?? 0, 'upstream calls made for a refused token').toBe(upstreamBefore);
}

describe('session tokens (PARLEY_SESSION_SECRET)', () => {
  it('a genuine session token is accepted (control)', async () => {
    const { token, player } = await newSession(main.url);
    const reply = await call(main.url, 'GET', '/v1/usage', undefined, bearer(token));
    expect(reply.status, reply.text).toBe(200);
    expect(reply.json.player).toBe(player);
  });

  it('refuses forged, tampered, expired, wrong-audience and alg:none session tokens', async () => {
    const { token } = await newSession(main.url);
    const [head, payload, signature] = token.slice('sess-'.length).split('.') as [string, string, string];
    const claims = JSON.parse(Buffer.from(payload, 'base64url').toString()) as Record<string, unknown>;
    const other = 'anon_BBBBBBBBBBBBBBBBBBBBBBBB';
    const tampered = Buffer.from(JSON.stringify({ ...claims, sub: other })).toString('base64url');
    const now = nowSeconds();
    const cases: Array<[string, string | undefined]> = [
      ['no Authorization header', undefined],
      ['empty Bearer', 'Bearer '],
      ['Basic scheme', `Basic ${Buffer.from('player:password').toString('base64')}`],
      ['garbage after sess-', 'Bearer sess-not.a.token'],
      ['signed with another secret', `Bearer ${sessionToken({}, { secret: `${SESSION_SECRET}-other` })}`],
      ['payload tampered (sub swapped), signature kept', `Bearer sess-${head}.${tampered}.${signature}`],
      ['signature stripped', `Bearer sess-${head}.${payload}.`],
      ['alg: none', `Bearer ${sessionToken({}, { header: { alg: 'none', typ: 'parley-session+jwt' } })}`],
      [
        'alg: none with the genuine signature kept',
        `Bearer sess-${Buffer.from(JSON.stringify({ alg: 'none', typ: 'parley-session+jwt' })).toString('base64url')}.${payload}.${signature}`,
      ],
      [
        'alg: HS512 with the right secret',
        `Bearer ${sessionToken({}, { header: { alg: 'HS512', typ: 'parley-session+jwt' } })}`,
      ],
      ['expired an hour ago', `Bearer ${sessionToken({ iat: now - 7200, exp: now - 3600 })}`],
      ['expired a second ago', `Bearer ${sessionToken({ iat: now - 600, exp: now - 1 })}`],
      ['no exp', `Bearer ${sessionToken({ exp: undefined })}`],
      ['not valid yet (nbf)', `Bearer ${sessionToken({ nbf: now + 3600 })}`],
      ['wrong audience', `Bearer ${sessionToken({ aud: JWT_AUDIENCE })}`],
      ['wrong issuer', `Bearer ${sessionToken({ iss: JWT_ISSUER })}`],
      ['wrong typ (a plain JWT)', `Bearer ${sessionToken({}, { header: { alg: 'HS256', typ: 'JWT' } })}`],
      ['sub that is not an anonymous id', `Bearer ${sessionToken({ sub: 'parley:game' })}`],
      ['sub naming a JWT player', `Bearer ${sessionToken({ sub: 'jwt:someone' })}`],
      ['game JWT (valid as a JWT) dressed as a session', `Bearer sess-${gameJwt('player-1')}`],
      ['session token signed with the JWT secret', `Bearer ${sessionToken({}, { secret: JWT_SECRET })}`],
      ['session token signed with the admin token', `Bearer ${sessionToken({}, { secret: ADMIN_TOKEN })}`],
      ['genuine token with trailing junk', `Bearer ${token}x`],
      ['genuine token twice', `Bearer ${token} ${token}`],
      ['Authorization header over 4 KiB', `Bearer ${token}${'A'.repeat(5000)}`],
    ];
    await attackEach(
      'forged/expired session tokens',
      cases,
      ([name]) => name,
      ([, header]) => expectRefused(main, header),
    );
  });

  it('refresh: a forged or long-expired token cannot be exchanged; a genuine one keeps its player', async () => {
    const { token, player } = await newSession(main.url);
    const now = nowSeconds();
    const refused = [
      ['forged', sessionToken({}, { secret: `${SESSION_SECRET}-other` })],
      ['expired beyond the grace window', sessionToken({ iat: now - 4000, exp: now - 700 })],
      ['alg none', sessionToken({}, { header: { alg: 'none', typ: 'parley-session+jwt' } })],
      ['a game JWT', gameJwt('player-1')],
    ] as const;
    await attackEach(
      'forged/expired session tokens',
      refused,
      ([name]) => `refresh with ${name}`,
      async ([, forged]) => {
        const reply = await call(main.url, 'POST', '/v1/sessions/refresh', undefined, bearer(forged));
        expectError(reply, 401, 'unauthorized');
      },
    );
    const fresh = await call(main.url, 'POST', '/v1/sessions/refresh', undefined, bearer(token));
    expect(fresh.status, fresh.text).toBe(200);
    expect(fresh.json.player).toBe(player);
  });

  it('POST /v1/sessions is rate limited per address', async () => {
    const limited = await startProxy({
      env: { ...PRODUCTION_AUTH, PARLEY_SESSION_RATE_PER_MINUTE: '5' },
    });
    try {
      await attack('session minting flood', async () => {
        const statuses: number[] = [];
        for (let i = 0; i < 12; i++) statuses.push((await call(limited.url, 'POST', '/v1/sessions')).status);
        expect(statuses.filter((s) => s === 200)).toHaveLength(5);
        const last = await call(limited.url, 'POST', '/v1/sessions');
        expectError(last, 429, 'rate_limit_exceeded');
        expect(Number(last.headers['retry-after'])).toBeGreaterThan(0);
      });
    } finally {
      await limited.close();
    }
  });
});

describe('game JWTs, HS256 (PARLEY_JWT_SECRET)', () => {
  it('a genuine JWT is accepted and names the player jwt:<sub> (control)', async () => {
    const reply = await call(main.url, 'GET', '/v1/usage', undefined, bearer(gameJwt('hero-42')));
    expect(reply.status, reply.text).toBe(200);
    expect(reply.json.player).toBe('jwt:hero-42');
  });

  it('refuses forged, expired, wrong-audience, wrong-issuer and alg:none JWTs', async () => {
    const now = nowSeconds();
    const claims = { sub: 'hero-42', iss: JWT_ISSUER, aud: JWT_AUDIENCE, iat: now, exp: now + 600 };
    const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const cases: Array<[string, string]> = [
      ['signed with another secret', gameJwt('hero-42', {}, `${JWT_SECRET}-other`)],
      ['signed with the session secret', gameJwt('hero-42', {}, SESSION_SECRET)],
      ['signed with the admin token', gameJwt('hero-42', {}, ADMIN_TOKEN)],
      ['alg: none', forgeJwt({ alg: 'none', typ: 'JWT' }, claims)],
      ['alg: None', forgeJwt({ alg: 'None', typ: 'JWT' }, claims)],
      ['alg: NONE', forgeJwt({ alg: 'NONE', typ: 'JWT' }, claims)],
      [
        'alg: none, signature of the right secret kept',
        forgeJwt({ alg: 'none' }, claims, JWT_SECRET, 'HS256'),
      ],
      ['alg: HS384 with the right secret', forgeJwt({ alg: 'HS384', typ: 'JWT' }, claims, JWT_SECRET)],
      ['alg: HS512 with the right secret', forgeJwt({ alg: 'HS512', typ: 'JWT' }, claims, JWT_SECRET)],
      ['alg: RS256 with an attacker key', forgeJwt({ alg: 'RS256', typ: 'JWT' }, claims, privateKey)],
      ['expired a minute ago', gameJwt('hero-42', { iat: now - 700, exp: now - 60 })],
      ['expired a day ago', gameJwt('hero-42', { iat: now - 90_000, exp: now - 86_400 })],
      ['not valid for an hour (nbf)', gameJwt('hero-42', { nbf: now + 3600 })],
      ['wrong audience', gameJwt('hero-42', { aud: 'another-game' })],
      ['audience list without ours', gameJwt('hero-42', { aud: ['a', 'b'] })],
      ['no audience', gameJwt('hero-42', { aud: undefined })],
      ['wrong issuer', gameJwt('hero-42', { iss: 'https://evil.example' })],
      ['no issuer', gameJwt('hero-42', { iss: undefined })],
      ['no exp (never expires)', gameJwt('hero-42', { exp: undefined })],
      ['no sub', gameJwt('hero-42', { sub: undefined })],
      ['empty sub', gameJwt('')],
      ['sub with CR/LF', gameJwt('hero\r\nX-Injected: 1')],
      ['sub of 129 characters', gameJwt('h'.repeat(129))],
      ['numeric sub', gameJwt('x', { sub: 42 })],
      [
        'unknown critical header',
        forgeJwt({ alg: 'HS256', crit: ['exp-policy'], 'exp-policy': 1 }, claims, JWT_SECRET),
      ],
      ['payload not JSON', `${Buffer.from('{"alg":"HS256"}').toString('base64url')}.bm90IGpzb24.sig`],
      ['two segments only', 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0'],
      ['a session token of another proxy', sessionToken({}, { secret: `${SESSION_SECRET}-elsewhere` })],
    ];
    await attackEach(
      'forged/expired/alg:none JWTs (HS256)',
      cases,
      ([name]) => name,
      ([, token]) => expectRefused(main, `Bearer ${token}`),
    );
  });
});

describe('game JWTs from a JWKS (PARLEY_JWT_JWKS_URL, RS256)', () => {
  const legit = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const attacker = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const KID = 'game-key-1';
  let jwks: Server;
  let proxy: Started;

  beforeAll(async () => {
    const jwk = { ...legit.publicKey.export({ format: 'jwk' }), kid: KID, alg: 'RS256', use: 'sig' };
    jwks = createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ keys: [jwk] }));
    });
    await new Promise<void>((resolve) => jwks.listen(0, '127.0.0.1', resolve));
    const { port } = jwks.address() as AddressInfo;
    proxy = await startProxy({
      fake: true,
      env: {
        PARLEY_AUTH: 'jwt',
        PARLEY_JWT_JWKS_URL: `http://127.0.0.1:${port}/.well-known/jwks.json`,
        PARLEY_JWT_ISSUER: JWT_ISSUER,
        PARLEY_JWT_AUDIENCE: JWT_AUDIENCE,
      },
    });
  });
  afterAll(async () => {
    await proxy?.close();
    jwks?.closeAllConnections();
    await new Promise((resolve) => jwks?.close(resolve));
  });

  const claims = (extra: Record<string, unknown> = {}) => {
    const now = nowSeconds();
    return { sub: 'hero-7', iss: JWT_ISSUER, aud: JWT_AUDIENCE, iat: now, exp: now + 600, ...extra };
  };

  it('a token signed by the game key is accepted (control)', async () => {
    const token = forgeJwt({ alg: 'RS256', kid: KID, typ: 'JWT' }, claims(), legit.privateKey);
    const reply = await call(proxy.url, 'GET', '/v1/usage', undefined, bearer(token));
    expect(reply.status, reply.text).toBe(200);
    expect(reply.json.player).toBe('jwt:hero-7');
  });

  it('refuses key confusion, embedded keys, alg:none, expired and wrong-audience tokens', async () => {
    const publicPem = legit.publicKey.export({ format: 'pem', type: 'spki' }) as string;
    const publicJwk = JSON.stringify(legit.publicKey.export({ format: 'jwk' }));
    const attackerJwk = { ...attacker.publicKey.export({ format: 'jwk' }), kid: KID };
    const cases: Array<[string, string]> = [
      ['attacker key, game kid', forgeJwt({ alg: 'RS256', kid: KID }, claims(), attacker.privateKey)],
      [
        'attacker key embedded in the header (jwk)',
        forgeJwt({ alg: 'RS256', kid: KID, jwk: attackerJwk }, claims(), attacker.privateKey),
      ],
      [
        'attacker key set URL in the header (jku)',
        forgeJwt({ alg: 'RS256', kid: KID, jku: 'http://127.0.0.1:1/evil' }, claims(), attacker.privateKey),
      ],
      ['HS256 signed with the public key PEM', forgeJwt({ alg: 'HS256', kid: KID }, claims(), publicPem)],
      ['HS256 signed with the public JWK', forgeJwt({ alg: 'HS256', kid: KID }, claims(), publicJwk)],
      ['alg: none', forgeJwt({ alg: 'none', kid: KID }, claims())],
      ['unknown kid', forgeJwt({ alg: 'RS256', kid: 'other' }, claims(), legit.privateKey)],
      ['expired', forgeJwt({ alg: 'RS256', kid: KID }, claims({ exp: nowSeconds() - 60 }), legit.privateKey)],
      ['wrong audience', forgeJwt({ alg: 'RS256', kid: KID }, claims({ aud: 'x' }), legit.privateKey)],
      ['wrong issuer', forgeJwt({ alg: 'RS256', kid: KID }, claims({ iss: 'x' }), legit.privateKey)],
      ['a session token (sessions are off)', sessionToken()],
    ];
    await attackEach(
      'forged/expired/alg:none JWTs (JWKS)',
      cases,
      ([name]) => name,
      ([, token]) => expectRefused(proxy, `Bearer ${token}`),
    );
  });

  it('without dev mode, naming a player in X-Parley-Player gets nobody in', async () => {
    await attack('forged/expired/alg:none JWTs (JWKS)', async () => {
      const client = as(proxy.url, { 'x-parley-player': 'hero-7' });
      expectError(await client('GET', '/v1/usage'), 401, 'unauthorized');
    });
  });
});
