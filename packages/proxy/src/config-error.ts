/**
 * A configuration the proxy must not start with; the message names what to fix. In a module of its own
 * so that every part's config loader can throw it without importing the loader that gathers them all.
 */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}
