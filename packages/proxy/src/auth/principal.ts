/**
 * Who is calling. Every authenticated request resolves to exactly one of these.
 *
 * `player` is namespaced by how it was proven, so identities from different sources can never collide:
 * `anon_…` (anonymous session), `jwt:<sub>` (game-issued JWT), `hook:<id>` (embedding hook),
 * `dev:<name>` (dev mode) and `admin` (the operator's admin token).
 */
export interface Principal {
  /** Stable player id; owns threads and budgets. Never a secret. */
  player: string;
  /** How the caller proved who they are. */
  via: 'session' | 'jwt' | 'hook' | 'dev' | 'admin';
  /** True only for the admin token. */
  admin: boolean;
  /** Unix seconds when the credential stops being accepted (sessions and JWTs only). */
  expiresAt?: number;
}
