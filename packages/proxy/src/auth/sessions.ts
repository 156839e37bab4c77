/**
 * Anonymous session tokens: `sess-` + a compact JWT signed with HMAC-SHA256.
 *
 * jose does the signing and checking (its HMAC check goes through WebCrypto `verify`, which compares in
 * constant time), with the algorithm pinned to HS256 and a dedicated `typ`, issuer and audience, so a
 * session token is never mistaken for any other token signed with a related key. The token carries the
 * player id, `iat` and `exp`; nothing is stored server-side, so a session cannot be revoked before it
 * expires except by rotating `PARLEY_SESSION_SECRET` (which ends every session).
 */
import { randomBytes } from 'node:crypto';
import { errors, jwtVerify, SignJWT } from 'jose';
import type { ProxyError } from '../errors.js';
import type { SessionConfig } from './config.js';
import { rejectToken, unauthorized } from './errors.js';

/** What every session token starts with; Unity's client sends it as is. */
export const SESSION_PREFIX = 'sess-';
/** Prefix of anonymous player ids. */
export const ANONYMOUS_PREFIX = 'anon_';

const TYP = 'parley-session+jwt';
const ISSUER = 'parley-proxy';
const AUDIENCE = 'parley-session';
const ALGORITHMS = ['HS256'];
const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
const ANONYMOUS_PLAYER = /^anon_[A-Za-z0-9]{24}$/;

/** What `POST /v1/sessions` answers (snake_case, like every wire object). */
export interface IssuedSession {
  /** Send as `Authorization: Bearer <token>`. */
  token: string;
  player: string;
  /** Unix seconds. */
  expires_at: number;
}

/** A session token that checked out. */
export interface VerifiedSession {
  player: string;
  /** Unix seconds; in the past for a token accepted within the refresh grace window. */
  expiresAt: number;
}

/**
 * A new anonymous player id: `anon_` + 24 base62 characters (~142 bits). Rejection sampling keeps the
 * characters uniform.
 */
export function newAnonymousPlayer(): string {
  let id = ANONYMOUS_PREFIX;
  while (id.length < ANONYMOUS_PREFIX.length + 24) {
    for (const byte of randomBytes(32)) {
      // 248 = 4 × 62: bytes above it would favour the first characters.
      if (byte < 248 && id.length < ANONYMOUS_PREFIX.length + 24) id += ALPHABET[byte % 62];
    }
  }
  return id;
}

function keyOf(config: SessionConfig): Uint8Array {
  return new TextEncoder().encode(config.secret);
}

/**
 * Signs a session token for `player` (a new anonymous player when omitted), valid for the configured TTL.
 *
 * @param now Unix milliseconds (tests pin the clock).
 * @example
 * const { token, player, expires_at } = await issueSessionToken(config.session);
 */
export async function issueSessionToken(
  config: SessionConfig,
  options: { player?: string; now?: number } = {},
): Promise<IssuedSession> {
  const player = options.player ?? newAnonymousPlayer();
  if (!ANONYMOUS_PLAYER.test(player))
    throw new TypeError('A session player id must be anon_ + 24 base62 chars');
  const iat = Math.floor((options.now ?? Date.now()) / 1000);
  const exp = iat + config.ttlSeconds;
  const jwt = await new SignJWT({})
    .setProtectedHeader({ alg: 'HS256', typ: TYP })
    .setSubject(player)
    .setIssuer(ISSUER)
    .setAudience(AUDIENCE)
    .setIssuedAt(iat)
    .setExpirationTime(exp)
    .sign(keyOf(config));
  return { token: SESSION_PREFIX + jwt, player, expires_at: exp };
}

/**
 * Checks a `sess-…` token and returns its player. With `refresh`, a token that expired less than the
 * grace window ago is still accepted (only to be exchanged for a new one).
 *
 * @throws {ProxyError} 401 `unauthorized` for anything that is not a valid session token of this proxy.
 */
export async function verifySessionToken(
  config: SessionConfig,
  token: string,
  options: { refresh?: boolean; now?: number } = {},
): Promise<VerifiedSession> {
  if (!token.startsWith(SESSION_PREFIX))
    throw unauthorized('The token is not a session token.', { invalidToken: true });
  let payload: { sub?: unknown; exp?: unknown };
  try {
    ({ payload } = await jwtVerify(token.slice(SESSION_PREFIX.length), keyOf(config), {
      algorithms: ALGORITHMS,
      typ: TYP,
      issuer: ISSUER,
      audience: AUDIENCE,
      requiredClaims: ['sub', 'exp', 'iat'],
      clockTolerance: options.refresh ? config.refreshGraceSeconds : 0,
      currentDate: new Date(options.now ?? Date.now()),
    }));
  } catch (error) {
    throw sessionRejection(error, options.refresh === true);
  }
  // Signed by us, so this only fails if the secret was shared with something else.
  if (
    typeof payload.sub !== 'string' ||
    !ANONYMOUS_PLAYER.test(payload.sub) ||
    typeof payload.exp !== 'number'
  )
    throw unauthorized('The session token is malformed.', { invalidToken: true });
  return { player: payload.sub, expiresAt: payload.exp };
}

function sessionRejection(error: unknown, refresh: boolean): ProxyError | unknown {
  if (!rejectToken(error)) return error;
  if (error instanceof errors.JWTExpired)
    return unauthorized(
      refresh
        ? 'The session expired too long ago to refresh; start a new one with POST /v1/sessions.'
        : 'The session has expired; refresh it with POST /v1/sessions/refresh.',
      { invalidToken: true, cause: error },
    );
  // Everything else (forged, tampered, another proxy's secret) gets one message: the details would only
  // help someone probing the format.
  return unauthorized('The session token is invalid.', { invalidToken: true, cause: error });
}
