import { isLoopback } from './dev-mode.js';
import { AuthConfigError } from './errors.js';

/** A way for players to prove who they are. */
export type AuthMode = 'session' | 'jwt' | 'dev';

const MODES: readonly AuthMode[] = ['session', 'jwt', 'dev'];

/** Anonymous sessions: `POST /v1/sessions` hands out short-lived signed tokens. */
export interface SessionConfig {
  /** HMAC-SHA256 key, at least 32 bytes. */
  secret: string;
  /** Lifetime of one session token. */
  ttlSeconds: number;
  /** How long after expiry a session token may still be exchanged for a new one (same player). */
  refreshGraceSeconds: number;
  /** New sessions per client IP (IPv6: per /64) per minute. */
  ratePerMinute: number;
}

/** Where the game's JWT signing key comes from. */
export type JwtKeySource = { kind: 'secret'; secret: string } | { kind: 'jwks'; url: string };

/** Game-issued JWTs. */
export interface JwtConfig {
  key: JwtKeySource;
  /** Required `iss`. */
  issuer: string;
  /** Required `aud` (the token's `aud` must contain it). */
  audience: string;
}

/**
 * How players and operators are identified. A mode is on when its part is present. Holds secrets:
 * never log it or send it anywhere.
 */
export interface AuthConfig {
  session?: SessionConfig | undefined;
  jwt?: JwtConfig | undefined;
  /** Dev mode: no proof; the player is named by a header. Loopback only. */
  dev: boolean;
  /** Operators present this as `Authorization: Bearer …` on admin endpoints. */
  adminToken?: string | undefined;
}

export const DEFAULT_SESSION_TTL_SECONDS = 3600;
export const DEFAULT_SESSION_RATE_PER_MINUTE = 10;
export const SESSION_REFRESH_GRACE_SECONDS = 600;
/** HS256 keys shorter than the hash output weaken it (RFC 7518 §3.2). */
export const MIN_SECRET_BYTES = 32;
export const MIN_ADMIN_TOKEN_LENGTH = 24;
/** Characters a Bearer token may carry (RFC 6750 b64token), so the admin token can always be sent. */
const TOKEN_CHARS = /^[A-Za-z0-9\-._~+/]+=*$/;

type Env = Record<string, string | undefined>;

function text(env: Env, key: string): string | undefined {
  const value = env[key]?.trim();
  return value ? value : undefined;
}

function int(env: Env, key: string, fallback: number, min: number, max: number): number {
  const raw = text(env, key);
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min || value > max)
    throw new AuthConfigError(`${key} must be an integer from ${min} to ${max}, got '${raw}'`);
  return value;
}

function secret(env: Env, key: string): string {
  const value = text(env, key);
  if (!value || Buffer.byteLength(value, 'utf8') < MIN_SECRET_BYTES)
    throw new AuthConfigError(
      `${key} must be at least ${MIN_SECRET_BYTES} bytes of random text (e.g. \`openssl rand -base64 48\`)`,
    );
  return value;
}

function modes(env: Env): Set<AuthMode> {
  const raw = text(env, 'PARLEY_AUTH');
  if (raw === undefined) {
    const configured = new Set<AuthMode>();
    if (text(env, 'PARLEY_SESSION_SECRET')) configured.add('session');
    // Any JWT variable counts, so a half-configured JWT setup fails loudly instead of falling back to dev.
    if (
      ['PARLEY_JWT_SECRET', 'PARLEY_JWT_JWKS_URL', 'PARLEY_JWT_ISSUER', 'PARLEY_JWT_AUDIENCE'].some((key) =>
        text(env, key),
      )
    )
      configured.add('jwt');
    return configured.size > 0 ? configured : new Set(['dev']);
  }
  const chosen = new Set<AuthMode>();
  for (const item of raw.split(',')) {
    const mode = item.trim().toLowerCase();
    if (!mode) continue;
    if (!MODES.includes(mode as AuthMode))
      throw new AuthConfigError(`PARLEY_AUTH lists '${mode}'; use a comma list of ${MODES.join(', ')}`);
    chosen.add(mode as AuthMode);
  }
  if (chosen.size === 0)
    throw new AuthConfigError(`PARLEY_AUTH must list at least one of ${MODES.join(', ')}`);
  return chosen;
}

function jwtConfig(env: Env): JwtConfig {
  const hmac = text(env, 'PARLEY_JWT_SECRET');
  const jwks = text(env, 'PARLEY_JWT_JWKS_URL');
  if (hmac && jwks)
    throw new AuthConfigError('Set either PARLEY_JWT_SECRET (HS256) or PARLEY_JWT_JWKS_URL, not both');
  if (!hmac && !jwks)
    throw new AuthConfigError('JWT mode needs PARLEY_JWT_SECRET (HS256) or PARLEY_JWT_JWKS_URL');
  const issuer = text(env, 'PARLEY_JWT_ISSUER');
  if (!issuer) throw new AuthConfigError('PARLEY_JWT_ISSUER must name the issuer (`iss`) of game JWTs');
  const audience = text(env, 'PARLEY_JWT_AUDIENCE');
  if (!audience) throw new AuthConfigError('PARLEY_JWT_AUDIENCE must name the audience (`aud`) of game JWTs');
  return {
    key: hmac ? { kind: 'secret', secret: secret(env, 'PARLEY_JWT_SECRET') } : jwksSource(jwks!),
    issuer,
    audience,
  };
}

function jwksSource(raw: string): JwtKeySource {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new AuthConfigError(`PARLEY_JWT_JWKS_URL must be an absolute URL, got '${raw}'`);
  }
  // Keys fetched over plain HTTP could be swapped by anyone on the path; loopback is allowed for local work.
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && isLoopback(url.hostname)))
    throw new AuthConfigError('PARLEY_JWT_JWKS_URL must use https: (http: only for a loopback host)');
  return { kind: 'jwks', url: url.href };
}

/**
 * Reads the identity configuration from environment variables.
 *
 * `PARLEY_AUTH` is a comma list of `session`, `jwt`, `dev`; unset, it is whatever has secrets
 * (`PARLEY_SESSION_SECRET` → session, any `PARLEY_JWT_*` → jwt), or `dev` when nothing does.
 *
 * @throws {AuthConfigError} with a message naming the variable at fault.
 * @example
 * const auth = loadAuthConfig(process.env);
 * if (auth.dev) assertDevModeAllowed(config.host);
 */
export function loadAuthConfig(env: Env = process.env): AuthConfig {
  const on = modes(env);
  const config: AuthConfig = { dev: on.has('dev') };
  if (on.has('session')) {
    config.session = {
      secret: secret(env, 'PARLEY_SESSION_SECRET'),
      ttlSeconds: int(env, 'PARLEY_SESSION_TTL_SECONDS', DEFAULT_SESSION_TTL_SECONDS, 60, 86_400),
      refreshGraceSeconds: SESSION_REFRESH_GRACE_SECONDS,
      ratePerMinute: int(env, 'PARLEY_SESSION_RATE_PER_MINUTE', DEFAULT_SESSION_RATE_PER_MINUTE, 1, 100_000),
    };
  }
  if (on.has('jwt')) config.jwt = jwtConfig(env);
  const admin = text(env, 'PARLEY_ADMIN_TOKEN');
  if (admin !== undefined) {
    if (admin.length < MIN_ADMIN_TOKEN_LENGTH || !TOKEN_CHARS.test(admin))
      throw new AuthConfigError(
        `PARLEY_ADMIN_TOKEN must be at least ${MIN_ADMIN_TOKEN_LENGTH} characters from A-Z a-z 0-9 - . _ ~ + / ` +
          '(e.g. `openssl rand -hex 24`)',
      );
    config.adminToken = admin;
  }
  assertDistinctSecrets(config);
  return config;
}

/**
 * One secret per purpose: a shared one would let a session token pass as a game JWT, or turn a leaked
 * HMAC key into admin access.
 */
function assertDistinctSecrets(config: AuthConfig): void {
  const named: [string, string | undefined][] = [
    ['PARLEY_SESSION_SECRET', config.session?.secret],
    ['PARLEY_JWT_SECRET', config.jwt?.key.kind === 'secret' ? config.jwt.key.secret : undefined],
    ['PARLEY_ADMIN_TOKEN', config.adminToken],
  ];
  const present = named.filter((entry): entry is [string, string] => entry[1] !== undefined);
  for (const [i, [name, value]] of present.entries()) {
    const twin = present.slice(i + 1).find(([, other]) => other === value);
    if (twin) throw new AuthConfigError(`${name} and ${twin[0]} must be different secrets`);
  }
}

/** The modes that are on, for a startup log line. */
export function authModes(config: AuthConfig): AuthMode[] {
  return MODES.filter((mode) => (mode === 'dev' ? config.dev : config[mode] !== undefined));
}
