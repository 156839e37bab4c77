import type { ServerResponse } from 'node:http';

/** Headers of every event stream the proxy opens. */
export const SSE_HEADERS = {
  'Content-Type': 'text/event-stream; charset=utf-8',
  'Cache-Control': 'no-cache, no-transform',
  Connection: 'keep-alive',
  'X-Accel-Buffering': 'no',
} as const;

const LINE_BREAK = /[\r\n]/;

/**
 * Serialises one server-sent event. `event` and `id` are single-line fields: a CR or LF there would let a
 * value inject fields of its own, so they are refused (as Hono's SSE writer does). `data` may span lines
 * and is split into several `data:` lines, which parsers join back with `\n`.
 */
export function formatEvent(fields: { event?: string; id?: string | number; data: string }): string {
  let out = '';
  if (fields.id !== undefined) {
    const id = String(fields.id);
    if (typeof fields.id !== 'number' && LINE_BREAK.test(id))
      throw new Error('SSE id must not contain CR or LF');
    out += `id: ${id}\n`;
  }
  if (fields.event !== undefined) {
    if (LINE_BREAK.test(fields.event)) throw new Error('SSE event name must not contain CR or LF');
    out += `event: ${fields.event}\n`;
  }
  // JSON from JSON.stringify, the usual data, has no line break: one line, no split.
  if (!LINE_BREAK.test(fields.data)) return `${out}data: ${fields.data}\n\n`;
  for (const line of fields.data.split(/\r\n|\r|\n/)) out += `data: ${line}\n`;
  return `${out}\n`;
}

/** Starts an event stream on `res` (status 200, SSE headers, flushed at once so the client sees it open). */
export function openEventStream(res: ServerResponse, extraHeaders: Record<string, string> = {}): void {
  res.writeHead(200, { ...SSE_HEADERS, ...extraHeaders });
  res.flushHeaders();
}

/** Resolves when the socket can take more data again (or has closed). */
export function drained(res: ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      res.off('drain', done);
      res.off('close', done);
      resolve();
    };
    res.on('drain', done);
    res.on('close', done);
  });
}
