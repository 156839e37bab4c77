// The village's game state: coins, inventory, the merchant's stock, the quest and the gate. Plain data with
// change listeners, saved in localStorage. No Phaser here: the NPC tools (cast.ts) validate against it, and
// the scene and the HUD render it.

/** What can be bought, given and carried. */
export type ItemId = 'lantern' | 'rope' | 'bread' | 'apple';

export interface ItemInfo {
  readonly name: string;
  /** Tilda's asking price, in coins. */
  readonly price: number;
  /** The lowest price Tilda accepts when haggling. */
  readonly floor: number;
  /** How many Tilda has at the start. */
  readonly stock: number;
}

export const ITEMS: Readonly<Record<ItemId, ItemInfo>> = {
  lantern: { name: 'lantern', price: 12, floor: 9, stock: 1 },
  rope: { name: 'coil of rope', price: 4, floor: 3, stock: 2 },
  bread: { name: 'loaf of bread', price: 2, floor: 2, stock: 3 },
  apple: { name: 'apple', price: 1, floor: 1, stock: 4 },
};
export const ITEM_IDS = Object.keys(ITEMS) as ItemId[];

/** An amount of money in words: "1 coin", "12 coins". */
export const coins = (n: number): string => `${n} ${Math.abs(n) === 1 ? 'coin' : 'coins'}`;

/** A name with its indefinite article: "an apple", "a lantern". */
export const withArticle = (name: string): string => `${/^[aeiou]/i.test(name) ? 'an' : 'a'} ${name}`;

export const START_COINS = 20;
/** Tonight's password; only the game (and, once he has his lantern, Odo) knows it. */
export const PASSWORD = 'ember';

/** What lit the old watchtower's lantern: only Odo's chronicle (demo-game/lore/library) says so. */
export const TOWER_OIL = 'moonwick';

/**
 * Where the quest stands:
 * `unstarted` → Marta gives it → `lantern` (buy a lantern from Tilda, bring it to Odo) → Odo takes it, but
 * it is dry → `oil` (learn from Odo's chronicle what oil lit the old watchtower's lantern, tell him to light
 * it with that) → he tells the password → `password` (tell Brom) → he opens the gate → `gate` (walk
 * through) → `done`.
 */
export type QuestStage = 'unstarted' | 'lantern' | 'oil' | 'password' | 'gate' | 'done';
const STAGES: readonly QuestStage[] = ['unstarted', 'lantern', 'oil', 'password', 'gate', 'done'];

export interface LogEntry {
  readonly at: number;
  readonly text: string;
}

export interface SaveData {
  version: 1;
  coins: number;
  inventory: Partial<Record<ItemId, number>>;
  stock: Record<ItemId, number>;
  /** Prices agreed with Tilda by haggling, used by the next sale of that item. */
  agreed: Partial<Record<ItemId, number>>;
  quest: QuestStage;
  gateOpen: boolean;
  player: { x: number; y: number } | null;
  log: LogEntry[];
}

export const SAVE_KEY = 'eastwatch:save';
export const PLAYER_KEY = 'eastwatch:player';

export function freshSave(): SaveData {
  return {
    version: 1,
    coins: START_COINS,
    inventory: {},
    stock: Object.fromEntries(ITEM_IDS.map((id) => [id, ITEMS[id].stock])) as Record<ItemId, number>,
    agreed: {},
    quest: 'unstarted',
    gateOpen: false,
    player: null,
    log: [],
  };
}

/** What changed, so listeners can animate it (coins flying, the gate opening). */
export type Change =
  | { kind: 'coins'; delta: number }
  | { kind: 'item'; item: ItemId; delta: number }
  | { kind: 'quest'; stage: QuestStage }
  | { kind: 'gate' }
  | { kind: 'log'; text: string };

/** Storage the state is saved to; `localStorage` in the browser. */
export interface SaveStore {
  getItem(key: string): string | null;
  setItem(key: string, value: string): void;
  removeItem(key: string): void;
}

export class GameState {
  readonly #store: SaveStore | undefined;
  readonly #listeners = new Set<(change: Change) => void>();
  #data: SaveData;

  constructor(data: SaveData = freshSave(), store?: SaveStore) {
    this.#data = data;
    this.#store = store;
  }

  /** The saved game in `store`, if there is a readable one. */
  static load(store: SaveStore): GameState | undefined {
    try {
      const raw = store.getItem(SAVE_KEY);
      if (!raw) return undefined;
      const data = JSON.parse(raw) as Partial<SaveData>;
      if (data.version !== 1 || !STAGES.includes(data.quest as QuestStage)) return undefined;
      return new GameState({ ...freshSave(), ...data } as SaveData, store);
    } catch {
      return undefined;
    }
  }

  static hasSave(store: SaveStore): boolean {
    return GameState.load(store) !== undefined;
  }

  get coins(): number {
    return this.#data.coins;
  }
  get quest(): QuestStage {
    return this.#data.quest;
  }
  get gateOpen(): boolean {
    return this.#data.gateOpen;
  }
  get log(): readonly LogEntry[] {
    return this.#data.log;
  }
  get player(): { x: number; y: number } | null {
    return this.#data.player;
  }
  count(item: ItemId): number {
    return this.#data.inventory[item] ?? 0;
  }
  stock(item: ItemId): number {
    return this.#data.stock[item] ?? 0;
  }
  agreedPrice(item: ItemId): number | undefined {
    return this.#data.agreed[item];
  }
  /** Items carried, with counts, in catalogue order. */
  get inventory(): Array<{ item: ItemId; count: number }> {
    return ITEM_IDS.filter((id) => this.count(id) > 0).map((item) => ({ item, count: this.count(item) }));
  }
  questAtLeast(stage: QuestStage): boolean {
    return STAGES.indexOf(this.#data.quest) >= STAGES.indexOf(stage);
  }
  /** A copy for tests and the debug hook. */
  snapshot(): SaveData {
    return structuredClone(this.#data);
  }

  on(listener: (change: Change) => void): () => void {
    this.#listeners.add(listener);
    return () => void this.#listeners.delete(listener);
  }

  addCoins(delta: number): void {
    this.#data.coins += delta;
    this.#emit({ kind: 'coins', delta });
  }

  addItem(item: ItemId, delta: number): void {
    const next = Math.max(0, this.count(item) + delta);
    if (next === 0) delete this.#data.inventory[item];
    else this.#data.inventory[item] = next;
    this.#emit({ kind: 'item', item, delta });
  }

  takeStock(item: ItemId): void {
    this.#data.stock[item] = Math.max(0, this.stock(item) - 1);
    delete this.#data.agreed[item];
    this.#save();
  }

  agree(item: ItemId, price: number): void {
    this.#data.agreed[item] = price;
    this.#save();
  }

  setQuest(stage: QuestStage): void {
    if (this.#data.quest === stage) return;
    this.#data.quest = stage;
    this.#emit({ kind: 'quest', stage });
  }

  openGate(): void {
    if (this.#data.gateOpen) return;
    this.#data.gateOpen = true;
    this.#emit({ kind: 'gate' });
  }

  addLog(text: string): void {
    this.#data.log.push({ at: Date.now(), text });
    if (this.#data.log.length > 30) this.#data.log.shift();
    this.#emit({ kind: 'log', text });
  }

  /** Remembers where the player stands (saved with the next change or `save()`). */
  setPlayer(x: number, y: number): void {
    this.#data.player = { x: Math.round(x), y: Math.round(y) };
  }

  save(): void {
    this.#save();
  }

  #emit(change: Change): void {
    this.#save();
    for (const listener of this.#listeners) listener(change);
  }

  #save(): void {
    try {
      this.#store?.setItem(SAVE_KEY, JSON.stringify(this.#data));
    } catch {
      // Private mode or a full disk: the game goes on unsaved.
    }
  }
}
