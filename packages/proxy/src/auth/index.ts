export type { Authenticator, AuthenticatorOptions, AuthHook } from './authenticate.js';
export { createAuthenticator, DEV_PLAYER_HEADER, MAX_AUTHORIZATION_LENGTH } from './authenticate.js';
export type { AuthConfig, AuthMode, JwtConfig, JwtKeySource, SessionConfig } from './config.js';
export { authModes, loadAuthConfig } from './config.js';
export { assertDevModeAllowed, DEV_MODE_BANNER, isLoopback } from './dev-mode.js';
export { AuthConfigError } from './errors.js';
export type { Principal } from './principal.js';
export type { IssuedSession } from './sessions.js';
export { SESSION_PREFIX } from './sessions.js';
