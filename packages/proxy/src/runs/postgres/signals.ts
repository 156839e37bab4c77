import { type RunSignal, type RunSignals, SignalHandlers } from '../signals.js';
import { type PgRunConnection, SIGNALS_CHANNEL } from './connection.js';

/**
 * Run signals between instances sharing one PostgreSQL database: `NOTIFY parley_run_signals` with
 * `{ runId, signal }` as JSON, heard by every instance's LISTEN client and handed to the listeners of that
 * run here. Like any NOTIFY, a signal sent while an instance's LISTEN connection is down is lost to it.
 */
export class PgRunSignals implements RunSignals {
  readonly #connection: PgRunConnection;
  readonly #handlers = new SignalHandlers();
  readonly #unsubscribe: () => void;
  #closed: Promise<void> | undefined;

  constructor(connection: PgRunConnection) {
    connection.retain();
    this.#connection = connection;
    this.#unsubscribe = connection.subscribe(SIGNALS_CHANNEL, (payload) => this.#deliver(payload));
  }

  async send(runId: string, signal: RunSignal): Promise<void> {
    await this.#connection.pool.query({
      name: 'parley_signal_send',
      text: `SELECT pg_notify('${SIGNALS_CHANNEL}', $1)`,
      values: [JSON.stringify({ runId, signal })],
    });
  }

  listen(runId: string, handler: (signal: RunSignal) => void): () => void {
    return this.#handlers.add(runId, handler);
  }

  close(): Promise<void> {
    this.#closed ??= (async () => {
      this.#unsubscribe();
      this.#handlers.clear();
      await this.#connection.release();
    })();
    return this.#closed;
  }

  #deliver(payload: string): void {
    const message = parse(payload);
    if (!message) {
      this.#connection.logger.warn('run signals: ignored a malformed notification', { payload });
      return;
    }
    for (const handler of this.#handlers.of(message.runId)) {
      try {
        handler(message.signal);
      } catch (error) {
        this.#connection.logger.error('run signals: a handler failed', { error: String(error) });
      }
    }
  }
}

/** The channel is open to anyone with access to the database: check the shape rather than trust it. */
function parse(payload: string): { runId: string; signal: RunSignal } | undefined {
  let value: unknown;
  try {
    value = JSON.parse(payload);
  } catch {
    return undefined;
  }
  if (typeof value !== 'object' || value === null) return undefined;
  const { runId, signal } = value as { runId?: unknown; signal?: unknown };
  if (typeof runId !== 'string' || typeof signal !== 'object' || signal === null) return undefined;
  const { type, by } = signal as { type?: unknown; by?: unknown };
  if (type === 'cancel') return { runId, signal: { type } };
  if (type === 'adopted' && typeof by === 'string') return { runId, signal: { type, by } };
  return undefined;
}
