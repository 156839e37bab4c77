/**
 * Game-issued JWTs, checked with jose. The accepted algorithms follow from the configured key and
 * nothing in the token can widen them: `HS256` for a shared secret, `RS256`/`ES256`/`EdDSA` for a
 * JWKS. So `alg: none`, and an HS256 token "signed" with a public key from the JWKS, are refused.
 */
import { ErrorCode } from '@parley/protocol';
import { createRemoteJWKSet, type JWTVerifyGetKey, type JWTVerifyOptions, jwtVerify } from 'jose';
import { ProxyError } from '../errors.js';
import type { JwtConfig } from './config.js';
import { rejectToken, unauthorized } from './errors.js';

/** Prefix of players proven by a game JWT, so `sub` can never collide with an anonymous or dev player. */
export const JWT_PLAYER_PREFIX = 'jwt:';
export const HMAC_ALGORITHMS = ['HS256'];
export const JWKS_ALGORITHMS = ['RS256', 'ES256', 'EdDSA'];
/** Allowed clock skew between the game's token issuer and the proxy, seconds. */
export const JWT_CLOCK_TOLERANCE_SECONDS = 5;
export const MAX_SUBJECT_LENGTH = 128;

/** A game JWT that checked out. */
export interface VerifiedJwt {
  /** `jwt:` + `sub`. */
  player: string;
  /** Unix seconds. */
  expiresAt: number;
}

export interface JwtVerifierOptions {
  /** Unix milliseconds (tests pin the clock). */
  now?: () => number;
  /** Per-request timeout for fetching the JWKS, milliseconds (default 5000). */
  jwksTimeoutMs?: number;
}

/** Checks one token; rejects with a 401 `ProxyError`, or a 503 when the JWKS cannot be fetched. */
export type JwtVerifier = (token: string) => Promise<VerifiedJwt>;

/**
 * Builds the verifier once per process, so the JWKS is fetched lazily, cached (10 min) and re-fetched
 * at most every 30 s when a token names an unknown `kid` (jose's defaults).
 *
 * @example
 * const verify = createJwtVerifier(config.jwt);
 * const { player } = await verify(bearerToken); // 'jwt:player-42'
 */
export function createJwtVerifier(config: JwtConfig, options: JwtVerifierOptions = {}): JwtVerifier {
  const now = options.now ?? Date.now;
  const base = {
    issuer: config.issuer,
    audience: config.audience,
    requiredClaims: ['sub', 'exp'],
    clockTolerance: JWT_CLOCK_TOLERANCE_SECONDS,
  } satisfies JWTVerifyOptions;

  let check: (token: string) => Promise<{ sub?: unknown; exp?: unknown }>;
  if (config.key.kind === 'secret') {
    const secret = new TextEncoder().encode(config.key.secret);
    check = async (token) =>
      (await jwtVerify(token, secret, { ...base, algorithms: HMAC_ALGORITHMS, currentDate: new Date(now()) }))
        .payload;
  } else {
    const keys: JWTVerifyGetKey = createRemoteJWKSet(new URL(config.key.url), {
      timeoutDuration: options.jwksTimeoutMs ?? 5000,
    });
    check = async (token) =>
      (await jwtVerify(token, keys, { ...base, algorithms: JWKS_ALGORITHMS, currentDate: new Date(now()) }))
        .payload;
  }
  const remote = config.key.kind === 'jwks';

  return async (token) => {
    let payload: { sub?: unknown; exp?: unknown };
    try {
      payload = await check(token);
    } catch (error) {
      const rejected = rejectToken(error);
      if (rejected) throw rejected;
      // Not a verdict on the token: the key server is down, redirecting, or serving garbage.
      if (remote)
        throw new ProxyError(
          ErrorCode.Unavailable,
          'The proxy cannot load the keys to check this token; try again shortly.',
          {
            headers: { 'Retry-After': '5' },
            cause: error,
          },
        );
      throw error;
    }
    const { sub, exp } = payload;
    if (typeof sub !== 'string' || !validSubject(sub))
      throw unauthorized(
        `The token's subject ('sub') must name the player in 1 to ${MAX_SUBJECT_LENGTH} printable characters.`,
        { invalidToken: true },
      );
    // jose has already checked that `exp` is a number in the future.
    return { player: JWT_PLAYER_PREFIX + sub, expiresAt: exp as number };
  };
}

function validSubject(sub: string): boolean {
  // Control characters would end up in logs and ids.
  return sub.length > 0 && sub.length <= MAX_SUBJECT_LENGTH && !/\p{Cc}/u.test(sub);
}
