import { ErrorCode } from '@parley/protocol';
import { errors } from 'jose';
import { ProxyError } from '../errors.js';

/** Invalid identity configuration; the message names the environment variable to fix. */
export class AuthConfigError extends Error {
  override readonly name = 'AuthConfigError';
}

/**
 * A 401 with the `WWW-Authenticate` challenge of RFC 6750. `invalidToken` marks a credential that was
 * presented but refused (as opposed to none at all), which clients may use to drop a stored token.
 */
export function unauthorized(message: string, options: { invalidToken?: boolean; cause?: unknown } = {}) {
  const challenge = options.invalidToken
    ? 'Bearer realm="parley", error="invalid_token"'
    : 'Bearer realm="parley"';
  return new ProxyError(ErrorCode.Unauthorized, message, {
    headers: { 'WWW-Authenticate': challenge },
    cause: options.cause,
  });
}

/** The claims whose absence has its own message; anything else is reported generically. */
const NAMED_CLAIMS = new Set(['sub', 'exp', 'iss', 'aud', 'iat', 'nbf']);

/**
 * Turns a jose verification failure into a 401 that says what was wrong in general terms and never
 * echoes the token or its claims. Anything that is not a verdict on the token (a bug, a key server that
 * cannot be reached) is returned unchanged for the caller to handle.
 */
export function rejectToken(error: unknown): ProxyError | undefined {
  const refuse = (message: string) => unauthorized(message, { invalidToken: true, cause: error });
  if (error instanceof errors.JWTExpired) return refuse('The token has expired.');
  if (error instanceof errors.JWTClaimValidationFailed) {
    if (error.reason === 'missing' && NAMED_CLAIMS.has(error.claim))
      return refuse(`The token has no '${error.claim}' claim.`);
    switch (error.claim) {
      case 'nbf':
        return refuse('The token is not valid yet.');
      case 'iss':
        return refuse("The token's issuer is not accepted.");
      case 'aud':
        return refuse("The token's audience is not accepted.");
      case 'typ':
        return refuse('This kind of token is not accepted here.');
      default:
        return refuse("The token's claims are invalid.");
    }
  }
  if (error instanceof errors.JOSEAlgNotAllowed || error instanceof errors.JOSENotSupported)
    return refuse("The token's signing algorithm is not accepted.");
  if (error instanceof errors.JWSSignatureVerificationFailed)
    return refuse("The token's signature is invalid.");
  if (error instanceof errors.JWKSNoMatchingKey || error instanceof errors.JWKSMultipleMatchingKeys)
    return refuse('No known key matches the token.');
  if (error instanceof errors.JWSInvalid || error instanceof errors.JWTInvalid)
    return refuse('The token is malformed.');
  return undefined;
}
