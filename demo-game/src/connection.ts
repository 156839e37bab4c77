// Watches the Parley proxy through `/healthz`: which model answers, or that it is down. When it is down it
// polls again with backoff (1 s, 2 s, 4 s, then every 8 s) until it answers, so the game recovers on its own.
// A hidden tab is not polled (nobody sees the dot, and a phone's radio stays asleep): it checks again when
// the tab is shown.

export type Connection =
  | { kind: 'checking' }
  | { kind: 'online'; upstream: string; model: string }
  | { kind: 'offline-model' }
  | { kind: 'down'; attempt: number; retryAt: number };

export class ConnectionMonitor {
  readonly #url: string;
  readonly #listeners = new Set<(connection: Connection) => void>();
  #state: Connection = { kind: 'checking' };
  #timer: ReturnType<typeof setTimeout> | undefined;
  #failures = 0;
  #stopped = false;
  #checking = false;
  // A poll came due while the tab was hidden: it runs when the tab is shown again.
  #due = false;
  readonly #doc: Document | undefined;
  readonly #onVisibility = (): void => {
    if (this.#doc?.visibilityState === 'visible' && this.#due) void this.check();
  };

  constructor(baseUrl = '', doc: Document | undefined = globalThis.document) {
    this.#url = `${baseUrl.replace(/\/+$/, '')}/healthz`;
    this.#doc = doc;
    doc?.addEventListener('visibilitychange', this.#onVisibility);
  }

  get state(): Connection {
    return this.#state;
  }

  on(listener: (connection: Connection) => void): () => void {
    this.#listeners.add(listener);
    listener(this.#state);
    return () => void this.#listeners.delete(listener);
  }

  start(): this {
    void this.#poll();
    return this;
  }

  /** Checks now (after a failed turn, say) instead of waiting for the next poll. */
  async check(): Promise<void> {
    if (this.#stopped || this.#checking) return;
    this.#due = false;
    this.#checking = true;
    clearTimeout(this.#timer);
    let next: Connection;
    try {
      const response = await fetch(this.#url, { cache: 'no-store', signal: AbortSignal.timeout(4000) });
      if (!response.ok) throw new Error(`HTTP ${response.status}`);
      const health = (await response.json()) as { upstream?: string; model?: string };
      this.#failures = 0;
      next =
        health.upstream === 'offline'
          ? { kind: 'offline-model' }
          : { kind: 'online', upstream: health.upstream ?? 'model', model: health.model ?? '' };
    } catch {
      this.#failures++;
      const wait = Math.min(8_000, 1000 * 2 ** (this.#failures - 1));
      next = { kind: 'down', attempt: this.#failures, retryAt: Date.now() + wait };
    } finally {
      this.#checking = false;
    }
    if (this.#stopped) return;
    this.#state = next;
    for (const listener of this.#listeners) listener(next);
    const delay = next.kind === 'down' ? next.retryAt - Date.now() : 5_000;
    this.#timer = setTimeout(() => void this.#poll(), delay);
  }

  // A scheduled check: deferred while the tab is hidden.
  async #poll(): Promise<void> {
    if (this.#doc?.visibilityState === 'hidden') {
      this.#due = true;
      return;
    }
    await this.check();
  }

  stop(): void {
    this.#stopped = true;
    this.#doc?.removeEventListener('visibilitychange', this.#onVisibility);
    clearTimeout(this.#timer);
    this.#listeners.clear();
  }
}

/** The HUD's words for a connection state. */
export function describeConnection(connection: Connection): { tone: 'ok' | 'warn' | 'bad'; text: string } {
  switch (connection.kind) {
    case 'checking':
      return { tone: 'warn', text: 'Sending word to the village…' };
    case 'online':
      return { tone: 'ok', text: `Online · ${connection.upstream} ${connection.model}`.trim() };
    case 'offline-model':
      return { tone: 'ok', text: 'Offline model (set OPENAI_API_KEY for real replies)' };
    case 'down':
      return { tone: 'bad', text: 'The messenger cannot reach the village — retrying…' };
  }
}
