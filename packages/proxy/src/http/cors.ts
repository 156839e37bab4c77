import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from '../log.js';

const ALLOWED_HEADERS = 'Authorization, Content-Type, Last-Event-ID, OpenAI-Beta, Parley-Resume-Grace-Ms';

/** Hosts of this machine that a dev server (Vite and the like) serves a game from, on any port. */
const LOOPBACK_HOSTS = new Set(['localhost', '127.0.0.1', '[::1]']);

/** Refusals are logged once per origin; past this many origins (someone trying them all) no more. */
const MAX_REPORTED = 100;

/** Options of {@link createCors}. */
export interface CorsOptions {
  /** Exact origins allowed (`PARLEY_CORS_ORIGINS`). */
  origins: readonly string[];
  /**
   * Also allow `http://localhost:*`, `http://127.0.0.1:*` (and `[::1]`, and https) on any port: dev mode,
   * which listens on loopback only, so the callers are this machine's own dev servers.
   */
  loopback: boolean;
  log: Logger;
}

/**
 * Whether `origin` is a loopback origin as a browser serializes it (`http://localhost:5173`): scheme, host
 * and port only, so `http://localhost.evil.example` or `http://localhost:5173/` are not.
 */
export function isLoopbackOrigin(origin: string): boolean {
  let url: URL;
  try {
    url = new URL(origin);
  } catch {
    return false;
  }
  return (
    (url.protocol === 'http:' || url.protocol === 'https:') &&
    LOOPBACK_HOSTS.has(url.hostname) &&
    url.origin === origin
  );
}

/** Whether a request with an `Origin` comes from the page's own origin (through Vite's or nginx's proxy). */
function sameOrigin(req: IncomingMessage, origin: string): boolean {
  const site = req.headers['sec-fetch-site'];
  if (site) return site === 'same-origin';
  // Browsers without Fetch Metadata: the forwarded Host names the page's origin when the proxy keeps it.
  const host = req.headers.host;
  return host !== undefined && (origin === `http://${host}` || origin === `https://${host}`);
}

/**
 * The proxy's CORS: answers allowed origins (and their preflights), and says once per origin in the log
 * when a browser on another origin was refused, naming the variable that would allow it; the browser
 * itself shows only "the connection failed".
 *
 * @returns a function that sets the headers on `res` and returns true when it has answered a preflight.
 * @example
 * const cors = createCors({ origins: config.corsOrigins, loopback: config.auth.dev, log });
 * if (cors(req, res)) return;
 */
export function createCors(options: CorsOptions): (req: IncomingMessage, res: ServerResponse) => boolean {
  const exact = new Set(options.origins);
  const reported = new Set<string>();
  const allowed = (origin: string) => exact.has(origin) || (options.loopback && isLoopbackOrigin(origin));
  return (req, res) => {
    const origin = req.headers.origin;
    if (!origin) return false;
    if (!allowed(origin)) {
      if (!sameOrigin(req, origin) && !reported.has(origin) && reported.size < MAX_REPORTED) {
        reported.add(origin);
        // JSON.stringify: an origin is the caller's text, kept on one line.
        options.log.warn(
          `CORS: refused a browser request from origin ${JSON.stringify(origin)}; to allow it, add it to PARLEY_CORS_ORIGINS (comma-separated exact origins)`,
        );
      }
      return false;
    }
    res.setHeader('Access-Control-Allow-Origin', origin);
    res.setHeader('Vary', 'Origin');
    if (req.method !== 'OPTIONS') return false;
    res.writeHead(204, {
      'Access-Control-Allow-Methods': 'GET, POST, DELETE, OPTIONS',
      'Access-Control-Allow-Headers': req.headers['access-control-request-headers'] ?? ALLOWED_HEADERS,
      'Access-Control-Max-Age': '600',
    });
    res.end();
    return true;
  };
}
