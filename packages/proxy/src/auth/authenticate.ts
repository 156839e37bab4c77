import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { ErrorCode } from '@parley/protocol';
import { ProxyError } from '../errors.js';
import { type AuthConfig, MIN_ADMIN_TOKEN_LENGTH, MIN_SECRET_BYTES, type SessionConfig } from './config.js';
import { assertDevModeAllowed, isLoopback } from './dev-mode.js';
import { AuthConfigError, unauthorized } from './errors.js';
import { createJwtVerifier, type JwtVerifier } from './jwt.js';
import type { Principal } from './principal.js';
import { clientKey, FixedWindowLimiter } from './rate-limit.js';
import {
  type IssuedSession,
  issueSessionToken,
  SESSION_PREFIX,
  type VerifiedSession,
  verifySessionToken,
} from './sessions.js';

/** Longer `Authorization` headers are refused before anything parses them. */
export const MAX_AUTHORIZATION_LENGTH = 4096;
/** Dev mode names the player with this header (CORS must allow it when dev mode is used from a browser). */
export const DEV_PLAYER_HEADER = 'x-parley-player';
export const DEFAULT_DEV_PLAYER = 'dev-player';
/** The admin principal's player id. */
export const ADMIN_PLAYER = 'admin';
const DEV_PLAYER = /^[A-Za-z0-9._@-]{1,64}$/;
const HOOK_PLAYER_MAX = 128;
/** Verified session tokens remembered at once (about 0.3 KB each). */
const VERIFIED_SESSIONS_KEPT = 10_000;
/** RFC 6750: `Bearer` then one b64token. */
const BEARER = /^Bearer +([A-Za-z0-9\-._~+/]+=*) *$/i;

/**
 * Lets a game server that embeds the proxy identify its players its own way (cookie, its own session).
 * Return `null` to fall through to the proxy's other methods; throw a `ProxyError` to refuse outright.
 * The returned player is namespaced as `hook:<player>`.
 */
export type AuthHook = (
  req: IncomingMessage,
) => Promise<{ player: string } | null> | { player: string } | null;

export interface AuthenticatorOptions {
  hook?: AuthHook;
  /**
   * The listen host. When given and dev mode is on, creation fails unless it is loopback
   * (see {@link assertDevModeAllowed}).
   */
  host?: string;
  /**
   * The client's address for the per-IP session limit. Defaults to the socket's peer address; behind a
   * reverse proxy, pass a function that reads the address your proxy reports (and only trust it there).
   */
  clientAddress?: (req: IncomingMessage) => string | undefined;
  /** Unix milliseconds (tests pin the clock). */
  now?: () => number;
  /** Per-request timeout for fetching the JWKS, milliseconds. */
  jwksTimeoutMs?: number;
}

/** Identifies callers. Every method throws `ProxyError`s ready to be answered as they are. */
export interface Authenticator {
  /**
   * Who is calling. Tries, in order: the admin token, the hook, a `Bearer sess-…` session token, any
   * other Bearer token as a game JWT, then dev mode.
   * @throws {ProxyError} 401 `unauthorized` (with `WWW-Authenticate`), 400 for a bad dev player header,
   *   503 when the JWKS cannot be fetched.
   */
  authenticate(req: IncomingMessage): Promise<Principal>;
  /**
   * A new anonymous player and its session token (`POST /v1/sessions`; no credentials needed).
   * @throws {ProxyError} 429 `rate_limit_exceeded` with `Retry-After`; 404 when sessions are off.
   */
  issueSession(req: IncomingMessage): Promise<IssuedSession>;
  /**
   * A fresh token for the same player, given a session token that is valid or expired within the grace
   * window (10 min) in `Authorization: Bearer sess-…`.
   * @throws {ProxyError} 401 `unauthorized`; 404 when sessions are off.
   */
  refreshSession(req: IncomingMessage): Promise<IssuedSession>;
  /** Whether the request carries the admin token (constant-time comparison). */
  isAdmin(req: IncomingMessage): boolean;
}

type Credentials =
  | { kind: 'none' }
  | { kind: 'bearer'; token: string }
  /** Some other scheme or a malformed value: only the hook may make sense of it. */
  | { kind: 'unreadable' };

function readCredentials(req: IncomingMessage): Credentials {
  const header = req.headers.authorization;
  if (header === undefined || header === '') return { kind: 'none' };
  if (header.length > MAX_AUTHORIZATION_LENGTH) throw unauthorized('The Authorization header is too long.');
  const token = BEARER.exec(header)?.[1];
  return token ? { kind: 'bearer', token } : { kind: 'unreadable' };
}

function digest(value: string): Buffer {
  return createHash('sha256').update(value, 'utf8').digest();
}

/**
 * Builds the authenticator for a configuration. Create one per process: it holds the JWKS cache and
 * the per-IP session counters.
 *
 * @throws {AuthConfigError} when nothing could identify a player, a secret is too short, or dev mode is
 *   on with a non-loopback `options.host`.
 * @example
 * const auth = createAuthenticator(loadAuthConfig(), { host: config.host });
 * const principal = await auth.authenticate(req); // { player: 'anon_…', via: 'session', admin: false }
 */
export function createAuthenticator(config: AuthConfig, options: AuthenticatorOptions = {}): Authenticator {
  assertUsable(config, options);
  return new ProxyAuthenticator(config, options);
}

class ProxyAuthenticator implements Authenticator {
  readonly #config: AuthConfig;
  readonly #hook: AuthHook | undefined;
  readonly #now: () => number;
  readonly #clientAddress: (req: IncomingMessage) => string | undefined;
  readonly #verifyJwt: JwtVerifier | undefined;
  /** Hashed once so the comparison is over fixed-length digests and leaks neither content nor length. */
  readonly #adminDigest: Buffer | undefined;
  readonly #limiter: FixedWindowLimiter | undefined;
  readonly #sessions: VerifiedSessions;

  constructor(config: AuthConfig, options: AuthenticatorOptions) {
    this.#config = config;
    this.#hook = options.hook;
    this.#now = options.now ?? Date.now;
    this.#clientAddress = options.clientAddress ?? ((req) => req.socket.remoteAddress);
    this.#verifyJwt = config.jwt
      ? createJwtVerifier(config.jwt, {
          now: this.#now,
          ...(options.jwksTimeoutMs === undefined ? {} : { jwksTimeoutMs: options.jwksTimeoutMs }),
        })
      : undefined;
    this.#adminDigest = config.adminToken === undefined ? undefined : digest(config.adminToken);
    this.#limiter = config.session
      ? new FixedWindowLimiter({ limit: config.session.ratePerMinute, windowMs: 60_000 })
      : undefined;
    this.#sessions = new VerifiedSessions(this.#now);
  }

  async authenticate(req: IncomingMessage): Promise<Principal> {
    const credentials = readCredentials(req);
    const token = credentials.kind === 'bearer' ? credentials.token : undefined;
    if (token !== undefined && this.#isAdminToken(token))
      return { player: ADMIN_PLAYER, via: 'admin', admin: true };

    if (this.#hook) {
      const found = await this.#hook(req);
      if (found) return { player: hookPlayer(found), via: 'hook', admin: false };
    }

    const verified = token === undefined ? undefined : await this.#verifyToken(token);
    if (verified) return verified;

    // Dev mode also takes requests whose token no enabled mode claims: SDK clients always send some key.
    if (this.#config.dev) return devPrincipal(req);

    if (credentials.kind === 'none')
      throw unauthorized("Missing credentials: send 'Authorization: Bearer <token>'.");
    if (credentials.kind === 'unreadable')
      throw unauthorized("The Authorization header must be 'Bearer <token>'.", { invalidToken: true });
    throw unauthorized('This kind of token is not accepted by this proxy.', { invalidToken: true });
  }

  async issueSession(req: IncomingMessage): Promise<IssuedSession> {
    const { session } = this.#config;
    if (!session || !this.#limiter) throw sessionsOff();
    const decision = this.#limiter.take(clientKey(this.#clientAddress(req)), this.#now());
    if (!decision.allowed)
      throw new ProxyError(
        ErrorCode.RateLimited,
        'Too many new sessions from this address; try again later.',
        {
          headers: { 'Retry-After': String(decision.retryAfterSeconds) },
        },
      );
    return issueSessionToken(session, { now: this.#now() });
  }

  async refreshSession(req: IncomingMessage): Promise<IssuedSession> {
    const { session } = this.#config;
    if (!session) throw sessionsOff();
    const credentials = readCredentials(req);
    if (credentials.kind !== 'bearer' || !credentials.token.startsWith(SESSION_PREFIX))
      throw unauthorized("Send the session token to refresh as 'Authorization: Bearer sess-…'.", {
        invalidToken: credentials.kind !== 'none',
      });
    const { player } = await verifySessionToken(session, credentials.token, {
      refresh: true,
      now: this.#now(),
    });
    return issueSessionToken(session, { player, now: this.#now() });
  }

  isAdmin(req: IncomingMessage): boolean {
    const header = req.headers.authorization;
    if (this.#adminDigest === undefined || header === undefined || header.length > MAX_AUTHORIZATION_LENGTH)
      return false;
    const token = BEARER.exec(header)?.[1];
    return token !== undefined && this.#isAdminToken(token);
  }

  #isAdminToken(token: string): boolean {
    return this.#adminDigest !== undefined && timingSafeEqual(digest(token), this.#adminDigest);
  }

  /** A session token or a game JWT, when that mode is on; `undefined` when no enabled mode claims it. */
  async #verifyToken(token: string): Promise<Principal | undefined> {
    if (token.startsWith(SESSION_PREFIX)) {
      const { session } = this.#config;
      if (!session) return undefined;
      const verified = await this.#sessions.check(session, token);
      return { player: verified.player, via: 'session', admin: false, expiresAt: verified.expiresAt };
    }
    if (!this.#verifyJwt) return undefined;
    const verified = await this.#verifyJwt(token);
    return { player: verified.player, via: 'jwt', admin: false, expiresAt: verified.expiresAt };
  }
}

/**
 * Session tokens that verified. One stays valid until it expires (nothing server-side can revoke it; a new
 * secret means a restart), so its check need not run again for every request: HMAC verification is most of
 * what identity costs a request. Only verified tokens enter; the oldest leave past the bound.
 */
class VerifiedSessions {
  readonly #verified = new Map<string, VerifiedSession>();

  constructor(private readonly now: () => number) {}

  async check(config: SessionConfig, token: string): Promise<VerifiedSession> {
    const known = this.#verified.get(token);
    if (known && known.expiresAt * 1000 > this.now()) return known;
    this.#verified.delete(token);
    const verified = await verifySessionToken(config, token, { now: this.now() });
    if (this.#verified.size >= VERIFIED_SESSIONS_KEPT) {
      this.#verified.delete(this.#verified.keys().next().value as string);
    }
    this.#verified.set(token, verified);
    return verified;
  }
}

function sessionsOff(): ProxyError {
  return new ProxyError(ErrorCode.NotFound, 'Anonymous sessions are not enabled on this proxy.');
}

function assertUsable(config: AuthConfig, options: AuthenticatorOptions): void {
  if (!config.session && !config.jwt && !config.dev && !options.hook)
    throw new AuthConfigError(
      'No way to identify players: enable sessions, JWTs, dev mode (PARLEY_AUTH) or pass a hook',
    );
  const short = (value: string) => Buffer.byteLength(value, 'utf8') < MIN_SECRET_BYTES;
  if (config.session && short(config.session.secret))
    throw new AuthConfigError(`PARLEY_SESSION_SECRET must be at least ${MIN_SECRET_BYTES} bytes`);
  if (config.jwt?.key.kind === 'secret' && short(config.jwt.key.secret))
    throw new AuthConfigError(`PARLEY_JWT_SECRET must be at least ${MIN_SECRET_BYTES} bytes`);
  if (config.adminToken !== undefined && config.adminToken.length < MIN_ADMIN_TOKEN_LENGTH)
    throw new AuthConfigError(`PARLEY_ADMIN_TOKEN must be at least ${MIN_ADMIN_TOKEN_LENGTH} characters`);
  if (config.dev && options.host !== undefined) assertDevModeAllowed(options.host);
}

function hookPlayer(found: { player: string }): string {
  const { player } = found;
  // A bad value is a bug in the embedding game server, so it surfaces as a 500, not as a 401.
  if (
    typeof player !== 'string' ||
    player.length === 0 ||
    player.length > HOOK_PLAYER_MAX ||
    /\p{Cc}/u.test(player)
  )
    throw new TypeError(
      `The auth hook must return a player id of 1 to ${HOOK_PLAYER_MAX} printable characters`,
    );
  return `hook:${player}`;
}

function devPrincipal(req: IncomingMessage): Principal {
  // The listen host is checked at startup; this also covers an embedder that skipped that check.
  if (!isLoopback(req.socket.remoteAddress ?? ''))
    throw unauthorized('Dev mode only serves requests from this machine.');
  const named = req.headers[DEV_PLAYER_HEADER];
  if (named !== undefined && (typeof named !== 'string' || !DEV_PLAYER.test(named)))
    throw new ProxyError(
      ErrorCode.InvalidValue,
      "X-Parley-Player must be 1 to 64 characters from A-Z, a-z, 0-9, '.', '_', '-' and '@'.",
      { param: 'X-Parley-Player' },
    );
  return { player: `dev:${named ?? DEFAULT_DEV_PLAYER}`, via: 'dev', admin: false };
}
