/**
 * Where Parley remembers assistant and thread ids between page loads. Sync or async, so it can wrap
 * `localStorage`, IndexedDB, a save-game file or a server.
 */
export interface KeyValueStore {
  get(key: string): string | null | Promise<string | null>;
  set(key: string, value: string): void | Promise<void>;
  delete(key: string): void | Promise<void>;
}

/**
 * A store that lives as long as the object; the default when `localStorage` is unavailable. Share one
 * between {@link createParley} calls to make them share NPCs and conversations.
 *
 * @example
 * ```ts
 * const parley = createParley({ url: '', store: memoryStore() });
 * ```
 */
export function memoryStore(): KeyValueStore {
  const map = new Map<string, string>();
  return {
    get: (key) => map.get(key) ?? null,
    set: (key, value) => void map.set(key, value),
    delete: (key) => void map.delete(key),
  };
}

/** `localStorage` when it works (it throws in some sandboxed or private contexts), else memory. */
export function defaultStore(): KeyValueStore {
  try {
    const storage = localStorage;
    const probe = 'parley:probe';
    storage.setItem(probe, probe);
    storage.removeItem(probe);
    return {
      get: (key) => storage.getItem(key),
      set: (key, value) => storage.setItem(key, value),
      delete: (key) => storage.removeItem(key),
    };
  } catch {
    return memoryStore();
  }
}
