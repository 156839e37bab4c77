/** Structured, single-line log output on stderr. Never pass secrets in `fields`. */
export interface Logger {
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
  debug(message: string, fields?: Record<string, unknown>): void;
}

export function createLogger(level: 'silent' | 'info' | 'debug'): Logger {
  const write = (kind: string, message: string, fields?: Record<string, unknown>) => {
    const extra = fields && Object.keys(fields).length > 0 ? ` ${JSON.stringify(fields)}` : '';
    process.stderr.write(`[parley] ${kind} ${message}${extra}\n`);
  };
  const off = () => {};
  return {
    info: level === 'silent' ? off : (m, f) => write('info', m, f),
    warn: level === 'silent' ? off : (m, f) => write('warn', m, f),
    error: level === 'silent' ? off : (m, f) => write('error', m, f),
    debug: level === 'debug' ? (m, f) => write('debug', m, f) : off,
  };
}
