import {
  type CryptoKey,
  exportJWK,
  generateKeyPair,
  type JWK,
  type JWTHeaderParameters,
  type JWTPayload,
  SignJWT,
} from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { JwtConfig } from './config.js';
import { createJwtVerifier } from './jwt.js';
import { b64, expectProxyError, JWT_SECRET, localServer } from './test-fixtures.js';

const ISSUER = 'https://game.example';
const AUDIENCE = 'parley';
const T0 = Date.UTC(2026, 0, 1);
const NOW = T0 / 1000;
const now = () => T0;
const secretKey = new TextEncoder().encode(JWT_SECRET);

const claims = (overrides: JWTPayload = {}): JWTPayload => ({
  sub: 'player-42',
  iss: ISSUER,
  aud: AUDIENCE,
  iat: NOW,
  exp: NOW + 300,
  ...overrides,
});

function sign(
  payload: JWTPayload,
  key: Uint8Array | CryptoKey = secretKey,
  header: JWTHeaderParameters = { alg: 'HS256' },
) {
  return new SignJWT(payload).setProtectedHeader(header).sign(key);
}

describe('game JWTs with an HS256 secret', () => {
  const config: JwtConfig = {
    key: { kind: 'secret', secret: JWT_SECRET },
    issuer: ISSUER,
    audience: AUDIENCE,
  };
  const verify = createJwtVerifier(config, { now });

  it('accepts a valid token and namespaces its subject as the player', async () => {
    await expect(verify(await sign(claims()))).resolves.toEqual({
      player: 'jwt:player-42',
      expiresAt: NOW + 300,
    });
  });

  it('accepts an audience list that contains ours', async () => {
    await expect(verify(await sign(claims({ aud: ['other', AUDIENCE] })))).resolves.toMatchObject({
      player: 'jwt:player-42',
    });
  });

  it('refuses a forged signature', async () => {
    const forged = await sign(
      claims(),
      new TextEncoder().encode('some-other-secret-0123456789-abcdefghijklmn'),
    );
    const error = await expectProxyError(verify(forged), 401);
    expect(error.message).toBe("The token's signature is invalid.");
    expect(error.code).toBe('unauthorized');
    expect(error.headers['WWW-Authenticate']).toBe('Bearer realm="parley", error="invalid_token"');
  });

  it('refuses an expired token, allowing at most 5 s of clock skew', async () => {
    await expect(verify(await sign(claims({ exp: NOW - 4 })))).resolves.toBeDefined();
    const error = await expectProxyError(verify(await sign(claims({ exp: NOW - 6 }))), 401);
    expect(error.message).toBe('The token has expired.');
  });

  it('refuses a token that is not valid yet (nbf)', async () => {
    const error = await expectProxyError(verify(await sign(claims({ nbf: NOW + 60 }))), 401);
    expect(error.message).toBe('The token is not valid yet.');
  });

  it('refuses the wrong audience', async () => {
    const error = await expectProxyError(verify(await sign(claims({ aud: 'another-service' }))), 401);
    expect(error.message).toBe("The token's audience is not accepted.");
  });

  it('refuses the wrong issuer', async () => {
    const error = await expectProxyError(verify(await sign(claims({ iss: 'https://evil.example' }))), 401);
    expect(error.message).toBe("The token's issuer is not accepted.");
  });

  it('refuses an asymmetric algorithm when a secret is configured', async () => {
    const ec = await generateKeyPair('ES256');
    const error = await expectProxyError(verify(await sign(claims(), ec.privateKey, { alg: 'ES256' })), 401);
    expect(error.message).toBe("The token's signing algorithm is not accepted.");
  });

  it('refuses an unsigned token (alg: none)', async () => {
    const unsigned = `${b64({ alg: 'none', typ: 'JWT' })}.${b64(claims())}.`;
    const error = await expectProxyError(verify(unsigned), 401);
    expect(error.message).toBe("The token's signing algorithm is not accepted.");
  });

  it('refuses a token without sub, without exp, or with an unusable sub', async () => {
    const { sub: _, ...noSub } = claims();
    expect((await expectProxyError(verify(await sign(noSub)), 401)).message).toBe(
      "The token has no 'sub' claim.",
    );
    const { exp: __, ...noExp } = claims();
    expect((await expectProxyError(verify(await sign(noExp)), 401)).message).toBe(
      "The token has no 'exp' claim.",
    );
    for (const sub of ['', 'x'.repeat(129), 'line\nbreak']) {
      const error = await expectProxyError(verify(await sign(claims({ sub }))), 401);
      expect(error.message).toMatch(/subject/);
    }
    await expect(verify(await sign(claims({ sub: 'x'.repeat(128) })))).resolves.toBeDefined();
  });

  it('refuses garbage without echoing it', async () => {
    const error = await expectProxyError(verify('not-a-jwt-secret-looking-value'), 401);
    expect(error.message).toBe('The token is malformed.');
    expect(error.message).not.toContain('not-a-jwt');
  });
});

describe('game JWTs with a JWKS', () => {
  type Pair = { publicKey: CryptoKey; privateKey: CryptoKey };
  let rsa: Pair;
  let others: Record<'ec-key' | 'ed-key' | 'ps-key', Pair>;
  let jwks: Awaited<ReturnType<typeof localServer>>;
  let fetches = 0;
  let verify: ReturnType<typeof createJwtVerifier>;

  beforeAll(async () => {
    rsa = await generateKeyPair('RS256', { extractable: true });
    others = {
      'ec-key': await generateKeyPair('ES256', { extractable: true }),
      'ed-key': await generateKeyPair('EdDSA', { extractable: true }),
      'ps-key': await generateKeyPair('PS256', { extractable: true }),
    };
    const keys: JWK[] = [
      { ...(await exportJWK(rsa.publicKey)), kid: 'game-key-1', alg: 'RS256', use: 'sig' },
    ];
    for (const [kid, pair] of Object.entries(others))
      keys.push({ ...(await exportJWK(pair.publicKey)), kid });
    jwks = await localServer((_req, res) => {
      fetches += 1;
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ keys }));
    });
    verify = createJwtVerifier(
      { key: { kind: 'jwks', url: `${jwks.url}/.well-known/jwks.json` }, issuer: ISSUER, audience: AUDIENCE },
      { now },
    );
  });
  afterAll(() => jwks.close());

  it('accepts an RS256 token signed by a key in the set, fetching the set once', async () => {
    const token = await sign(claims(), rsa.privateKey, { alg: 'RS256', kid: 'game-key-1' });
    await expect(verify(token)).resolves.toEqual({ player: 'jwt:player-42', expiresAt: NOW + 300 });
    await expect(verify(token)).resolves.toBeDefined();
    expect(fetches).toBe(1);
  });

  it('accepts ES256 and EdDSA keys from the set, but no algorithm outside the pinned list', async () => {
    for (const [alg, kid] of [
      ['ES256', 'ec-key'],
      ['EdDSA', 'ed-key'],
    ] as const) {
      const token = await sign(claims({ sub: alg }), others[kid].privateKey, { alg, kid });
      await expect(verify(token)).resolves.toMatchObject({ player: `jwt:${alg}` });
    }
    // PS256 is a fine algorithm that jose would verify with this key set, but it is not on our list.
    const ps = await sign(claims(), others['ps-key'].privateKey, { alg: 'PS256', kid: 'ps-key' });
    expect((await expectProxyError(verify(ps), 401)).message).toBe(
      "The token's signing algorithm is not accepted.",
    );
  });

  it('refuses an HS256 token when only the JWKS is configured (algorithm confusion)', async () => {
    // The classic attack: HMAC-sign with the public key's bytes, hoping the verifier uses it as a secret.
    const publicBytes = new TextEncoder().encode(JSON.stringify(await exportJWK(rsa.publicKey)));
    const confused = await sign(claims(), publicBytes, { alg: 'HS256', kid: 'game-key-1' });
    const error = await expectProxyError(verify(confused), 401);
    expect(error.message).toBe("The token's signing algorithm is not accepted.");
    const withSecret = await sign(claims());
    await expectProxyError(verify(withSecret), 401);
  });

  it('refuses alg: none even with a known kid', async () => {
    const unsigned = `${b64({ alg: 'none', kid: 'game-key-1' })}.${b64(claims())}.`;
    await expectProxyError(verify(unsigned), 401);
  });

  it('refuses a token signed by a key that is not in the set', async () => {
    const stranger = await generateKeyPair('RS256');
    const sameKid = await sign(claims(), stranger.privateKey, { alg: 'RS256', kid: 'game-key-1' });
    expect((await expectProxyError(verify(sameKid), 401)).message).toBe("The token's signature is invalid.");
    const otherKid = await sign(claims(), stranger.privateKey, { alg: 'RS256', kid: 'unknown' });
    expect((await expectProxyError(verify(otherKid), 401)).message).toBe('No known key matches the token.');
  });

  it('still checks expiry, issuer and audience', async () => {
    const header = { alg: 'RS256', kid: 'game-key-1' };
    await expectProxyError(verify(await sign(claims({ exp: NOW - 60 }), rsa.privateKey, header)), 401);
    await expectProxyError(
      verify(await sign(claims({ iss: 'https://evil.example' }), rsa.privateKey, header)),
      401,
    );
    await expectProxyError(verify(await sign(claims({ aud: 'another' }), rsa.privateKey, header)), 401);
  });

  it('answers 503, not 401, when the key server cannot be reached', async () => {
    const down = await localServer((_req, res) => res.end());
    const url = `${down.url}/jwks.json`;
    await down.close();
    const offline = createJwtVerifier(
      { key: { kind: 'jwks', url }, issuer: ISSUER, audience: AUDIENCE },
      { now },
    );
    const token = await sign(claims(), rsa.privateKey, { alg: 'RS256', kid: 'game-key-1' });
    const error = await expectProxyError(offline(token), 503);
    expect(error.headers['Retry-After']).toBeDefined();
  });

  it('answers 503 when the key server answers with an error', async () => {
    const broken = await localServer((_req, res) => {
      res.writeHead(500);
      res.end('oops');
    });
    try {
      const failing = createJwtVerifier(
        { key: { kind: 'jwks', url: `${broken.url}/jwks.json` }, issuer: ISSUER, audience: AUDIENCE },
        { now },
      );
      const token = await sign(claims(), rsa.privateKey, { alg: 'RS256', kid: 'game-key-1' });
      await expectProxyError(failing(token), 503);
    } finally {
      await broken.close();
    }
  });
});
