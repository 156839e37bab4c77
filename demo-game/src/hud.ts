// The HUD, the title menu and the ending card, in the DOM over the canvas: crisp at any scale, readable by
// screen readers and by browser tests. The game calls `render*()`; the HUD never reads game objects.
import { type Connection, describeConnection } from './connection.js';
import { currentObjective, HAGGLE_TIP } from './quest.js';
import { type GameState, ITEMS } from './state.js';

// The layout for phones and small windows, where the cards flow along the top (see the CSS).
const COMPACT = '(max-width: 760px), (max-height: 520px)';

const CSS = `
#hud { position: fixed; inset: 0; pointer-events: none; z-index: 5; font-family: "Trebuchet MS", "DejaVu Sans", Verdana, sans-serif; color: #fff6e0; }
#hud .panel { position: absolute; background: rgba(27, 20, 16, 0.82); border: 1px solid #c9a66b; border-radius: 8px; padding: 8px 12px; box-shadow: 0 2px 8px rgba(0,0,0,0.35); }
#hud-top { left: 12px; top: 12px; max-width: 42vw; }
#hud-top h1 { margin: 0; font: bold 20px Georgia, "DejaVu Serif", serif; color: #ffd98a; letter-spacing: 0.5px; }
#hud-status { display: flex; align-items: center; gap: 6px; font-size: 13px; margin-top: 4px; }
#hud-status .dot { width: 9px; height: 9px; border-radius: 50%; flex: none; background: #e8c15a; }
#hud-status[data-tone="ok"] .dot { background: #7fd36b; }
#hud-status[data-tone="bad"] .dot { background: #ff6b5a; animation: hud-pulse 1s infinite alternate; }
#hud-status[data-tone="bad"] { color: #ffb3a6; font-weight: bold; }
#hud-help { font-size: 11.5px; color: #d9cbb5; margin-top: 4px; }
#hud-voice { pointer-events: auto; margin-top: 6px; font: bold 12px "Trebuchet MS", "DejaVu Sans", sans-serif; color: #fff6e0; background: rgba(255,255,255,0.08); border: 1px solid #c9a66b; border-radius: 6px; padding: 3px 8px; cursor: pointer; }
#hud-voice[aria-pressed="true"] { background: rgba(255, 217, 138, 0.3); }
@keyframes hud-pulse { from { opacity: 1; } to { opacity: 0.3; } }
#hud-purse { right: 12px; top: 12px; min-width: 200px; max-width: 30vw; font-size: 14px; }
#hud-coins { font-size: 18px; font-weight: bold; color: #ffd98a; display: flex; align-items: center; gap: 8px; }
#hud-coins .coin { width: 16px; height: 16px; border-radius: 50%; background: radial-gradient(circle at 35% 35%, #fff2b0, #e8b93a 55%, #a7741c); box-shadow: 0 0 0 1px #6b4a12; }
#hud-inventory { list-style: none; margin: 6px 0 0; padding: 0; display: flex; flex-wrap: wrap; gap: 4px; }
#hud-inventory li { background: rgba(255,255,255,0.1); border: 1px solid rgba(201,166,107,0.6); border-radius: 4px; padding: 1px 6px; font-size: 12.5px; }
#hud-inventory li.empty { border: none; background: none; color: #a8998a; font-style: italic; padding: 0; }
#hud-budget { margin-top: 6px; font-size: 11.5px; color: #d9cbb5; }
#hud-quest { right: 12px; top: 120px; width: 260px; font-size: 13px; }
#hud-quest h2 { margin: 0 0 4px; font: bold 14px Georgia, "DejaVu Serif", serif; color: #ffd98a; display: flex; justify-content: space-between; }
#hud-quest h2 small { font: 11px "Trebuchet MS", sans-serif; color: #a8998a; }
#hud-quest .goal { margin: 0 0 6px; line-height: 1.35; }
#hud-quest .say { margin: 0 0 6px; padding: 4px 6px; background: rgba(255, 217, 138, 0.12); border-left: 3px solid #ffd98a; font-size: 12.5px; }
#hud-quest .say q { color: #fff; font-style: italic; }
#hud-quest .tip { color: #d9cbb5; font-size: 11.5px; margin: 0 0 6px; }
#hud-quest ol { margin: 0; padding-left: 18px; color: #d9cbb5; font-size: 11.5px; max-height: 110px; overflow: hidden; }
#hud-quest[data-collapsed="true"] .body { display: none; }
#hud-quest[data-done="true"] h2 { color: #9be38a; }
#hud-toasts { position: absolute; left: 50%; top: 104px; transform: translateX(-50%); display: flex; flex-direction: column; align-items: center; gap: 6px; }
#hud-toasts div { background: rgba(27,20,16,0.9); border: 1px solid #ffd98a; border-radius: 16px; padding: 5px 14px; font-weight: bold; font-size: 15px; animation: hud-toast 3.2s forwards; }
@keyframes hud-toast { 0% { opacity: 0; transform: translateY(-8px); } 10% { opacity: 1; transform: none; } 80% { opacity: 1; } 100% { opacity: 0; } }
#hud #hud-history { left: 24px; bottom: 34%; width: min(560px, 52vw); font-size: 12.5px; display: none; flex-direction: column; justify-content: flex-end; overflow: hidden; box-sizing: border-box; background: rgba(244, 233, 216, 0.94); color: #2a1d14; border-color: #8a6238; }
#hud-history h3 { margin: 0 0 4px; font: bold 12px Georgia, "DejaVu Serif", serif; color: #6b4a2c; text-transform: uppercase; letter-spacing: 1px; }
#hud-history p { margin: 2px 0; line-height: 1.3; flex: none; }
#hud-history h3 { flex: none; }
#hud-history p b { color: #6b3f1f; }
#hud-history p.event { color: #7a6a58; font-style: italic; }
#hud-history p.you b { color: #2f4f7a; }
#menu { position: fixed; inset: 0; display: flex; align-items: center; justify-content: center; z-index: 20; background: radial-gradient(ellipse at center, rgba(20,27,18,0.25), rgba(10,12,8,0.75)); font-family: "Trebuchet MS", "DejaVu Sans", Verdana, sans-serif; }
#menu .card { text-align: center; background: rgba(27,20,16,0.88); border: 2px solid #c9a66b; border-radius: 14px; padding: 26px 40px 22px; color: #f4e9d8; max-width: 520px; box-shadow: 0 8px 30px rgba(0,0,0,0.5); }
#menu h1 { font: bold 46px Georgia, "DejaVu Serif", serif; margin: 0; color: #ffd98a; letter-spacing: 2px; text-shadow: 0 2px 0 #5b3a22; }
#menu .sub { margin: 4px 0 18px; color: #d9cbb5; font-size: 15px; }
#menu button { display: block; width: 240px; margin: 8px auto; padding: 10px 0; font: bold 17px "Trebuchet MS", "DejaVu Sans", sans-serif; color: #2a1d14; background: linear-gradient(#ffe3a3, #e8b95a); border: 2px solid #6b4a2c; border-radius: 8px; cursor: pointer; }
#menu button:hover, #menu button:focus-visible { background: linear-gradient(#fff0c8, #f2c86a); outline: 2px solid #fff6e0; }
#menu button.secondary { background: linear-gradient(#d9cbb5, #b8a68a); font-size: 15px; }
#menu .note { font-size: 12px; color: #a8998a; margin-top: 14px; line-height: 1.4; }
/* Phones and small windows (the game then fills the screen, see main.ts): the cards flow in a grid along
   the top, so they never overlap whatever their text; buttons stand in for the keys. */
@media (max-width: 760px), (max-height: 520px) {
  #hud { display: grid; grid-template-columns: minmax(0, 1fr) auto; grid-auto-rows: min-content; align-content: start; align-items: start; gap: 6px; padding: 8px; box-sizing: border-box; }
  #hud .panel { position: static; padding: 5px 9px; max-width: none; min-width: 0; width: auto; }
  #hud-top { grid-column: 1; grid-row: 1; }
  #hud-top h1 { font-size: 16px; }
  #hud-status { font-size: 12px; }
  #hud-help { font-size: 12px; }
  #hud-purse { grid-column: 2; grid-row: 1; font-size: 12px; max-width: 46vw; }
  #hud-coins { font-size: 16px; }
  #hud-inventory li { font-size: 12px; }
  #hud-budget { font-size: 11px; }
  #hud-quest { grid-column: 1 / -1; grid-row: 2; font-size: 13px; }
  #hud-quest .say { font-size: 13px; }
  #hud-quest ol { display: none; }
  #hud-touch { grid-column: 1 / -1; grid-row: 3; justify-self: end; }
  #hud-toasts { top: 36%; }
  #hud #hud-history { position: absolute; width: auto; right: 8px; font-size: 13px; }
  #menu h1 { font-size: 32px; }
  #menu .card { padding: 16px 18px; margin: 0 12px; }
}
/* Phones on their side: little height, so the cards share one row. */
@media (max-height: 520px) and (orientation: landscape) {
  #hud { grid-template-columns: minmax(0, 0.8fr) minmax(0, 1.3fr) auto; }
  #hud-top { grid-column: 1; grid-row: 1; }
  #hud-quest { grid-column: 2; grid-row: 1; }
  #hud-quest .tip, #hud-help { display: none; }
  #hud-purse { grid-column: 3; grid-row: 1; max-width: 30vw; }
  #hud-touch { grid-column: 3; grid-row: 2; }
  /* Beside the buttons, not under them. */
  #hud #hud-history { right: auto; width: min(560px, 62vw); }
  #menu .card { padding: 10px 18px; }
  #menu h1 { font-size: 26px; }
  #menu .sub { margin-bottom: 8px; }
  #menu button { margin: 5px auto; padding: 7px 0; }
}
#hud-touch { display: none; gap: 6px; pointer-events: auto; }
#hud[data-touch="true"] #hud-touch { display: flex; }
#hud-touch button { font: bold 14px "Trebuchet MS", "DejaVu Sans", sans-serif; color: #fff6e0; background: rgba(27, 20, 16, 0.85); border: 1px solid #c9a66b; border-radius: 8px; padding: 8px 12px; min-height: 40px; touch-action: manipulation; }
#hud-touch button[aria-pressed="true"] { background: rgba(107, 74, 44, 0.95); }
#hud[data-touch="true"] #hud-quest h2 { pointer-events: auto; cursor: pointer; }
#menu .note kbd { background: #3b2a1c; border: 1px solid #6b4a2c; border-radius: 3px; padding: 0 4px; color: #f4e9d8; }
`;

export interface MenuChoice {
  kind: 'start' | 'continue' | 'new';
}

export class Hud {
  readonly root: HTMLElement;
  readonly #status: HTMLElement;
  readonly #coins: HTMLElement;
  readonly #inventory: HTMLElement;
  readonly #budget: HTMLElement;
  readonly #quest: HTMLElement;
  readonly #toasts: HTMLElement;
  readonly #history: HTMLElement;
  readonly #touch: boolean;
  #lastCoins: number | undefined;
  #historyPlace = '';

  /** `touch`: hints name taps, and buttons stand in for the keys (quest log, console). */
  constructor(doc: Document = document, touch = isTouchScreen(doc)) {
    this.#touch = touch;
    if (!doc.getElementById('hud-style')) {
      const style = doc.createElement('style');
      style.id = 'hud-style';
      style.textContent = CSS;
      doc.head.append(style);
    }
    doc.getElementById('hud')?.remove();
    this.root = doc.createElement('div');
    this.root.id = 'hud';
    this.root.dataset['touch'] = String(touch);
    const help = touch
      ? 'Tap the ground to walk · tap a villager to talk · hold 🎤 to speak'
      : 'Arrows/WASD or click: walk · E or click: talk · hold V: speak · Esc: leave · Q: quest log · `: debug console';
    this.root.innerHTML = `
      <section id="hud-top" class="panel" aria-label="Village">
        <h1>Eastwatch</h1>
        <div id="hud-status" role="status" data-tone="warn"><span class="dot"></span><span class="text">Sending word to the village…</span></div>
        <div id="hud-help">${help}</div>
        <button type="button" id="hud-voice" data-action="voice" aria-pressed="false">🔈 Voice: off</button>
      </section>
      <section id="hud-purse" class="panel" aria-label="Purse">
        <div id="hud-coins"><span class="coin"></span><span class="amount">0</span> <span class="unit">coins</span></div>
        <ul id="hud-inventory" aria-label="Inventory"></ul>
        <div id="hud-budget" data-known="false">Budget: not reported by this proxy</div>
      </section>
      <section id="hud-quest" class="panel" aria-label="Quest log" data-collapsed="false"></section>
      <nav id="hud-touch" aria-label="Game buttons">
        <button type="button" data-action="quest" aria-pressed="true">Quest log</button>
        <button type="button" data-action="console" aria-pressed="false">Console</button>
      </nav>
      <div id="hud-toasts" aria-live="polite"></div>
      <section id="hud-history" class="panel" aria-label="Earlier in this conversation"></section>`;
    doc.body.append(this.root);
    const $ = (id: string) => doc.getElementById(id)!;
    this.#status = $('hud-status');
    this.#coins = $('hud-coins');
    this.#inventory = $('hud-inventory');
    this.#budget = $('hud-budget');
    this.#quest = $('hud-quest');
    this.#toasts = $('hud-toasts');
    this.#history = $('hud-history');
    this.root.addEventListener('click', (event) => {
      const target = event.target as HTMLElement;
      const action = target.closest<HTMLElement>('[data-action]')?.dataset['action'];
      if (action === 'quest' || (this.#touch && target.closest('#hud-quest h2'))) this.toggleQuest();
      else if (action) this.#onAction?.(action);
    });
  }

  #onAction: ((action: string) => void) | undefined;

  /** Calls `handler` with the action of an on-screen button other than the quest log's (`console`, `voice`). */
  onAction(handler: (action: string) => void): void {
    this.#onAction = handler;
  }

  /** Shows whether the villagers speak aloud on the voice toggle. */
  setVoiceOn(on: boolean): void {
    const button = this.root.querySelector('[data-action="voice"]');
    button?.setAttribute('aria-pressed', String(on));
    if (button) button.textContent = on ? '🔊 Voice: on' : '🔈 Voice: off';
  }

  /** Shows whether the console is open on its button. */
  setConsoleOpen(open: boolean): void {
    this.root.querySelector('[data-action="console"]')?.setAttribute('aria-pressed', String(open));
  }

  /**
   * How far down from `top` (CSS pixels) the HUD cards reach when they run across the top of a small
   * screen (0 on a large one, where they sit in the corners).
   */
  coveredBelow(top: number): number {
    if (!window.matchMedia?.(COMPACT).matches || this.root.style.display === 'none') return 0;
    let bottom = top;
    for (const card of this.root.querySelectorAll<HTMLElement>(
      '#hud-top, #hud-purse, #hud-quest, #hud-touch',
    )) {
      const rect = card.getBoundingClientRect();
      if (rect.height > 0) bottom = Math.max(bottom, rect.bottom);
    }
    return bottom - top;
  }

  /** Whether hints name taps and the button bar shows. */
  get touch(): boolean {
    return this.#touch;
  }

  setVisible(visible: boolean): void {
    this.root.style.display = visible ? '' : 'none';
  }

  renderConnection(connection: Connection): void {
    const { tone, text } = describeConnection(connection);
    this.#status.dataset['tone'] = tone;
    this.#status.dataset['kind'] = connection.kind;
    this.#status.querySelector('.text')!.textContent = text;
  }

  renderState(state: GameState): void {
    const amount = this.#coins.querySelector('.amount')!;
    amount.textContent = String(state.coins);
    this.#coins.querySelector('.unit')!.textContent = state.coins === 1 ? 'coin' : 'coins';
    this.#coins.dataset['coins'] = String(state.coins);
    this.#lastCoins = state.coins;
    const items = state.inventory;
    this.#inventory.replaceChildren(
      ...(items.length === 0
        ? [
            Object.assign(document.createElement('li'), {
              className: 'empty',
              textContent: 'Nothing in your satchel',
            }),
          ]
        : items.map(({ item, count }) => {
            const li = document.createElement('li');
            li.dataset['item'] = item;
            li.textContent = count > 1 ? `${ITEMS[item].name} ×${count}` : ITEMS[item].name;
            return li;
          })),
    );
    const objective = currentObjective(state);
    const collapsed = this.#quest.dataset['collapsed'] ?? 'false';
    this.#quest.dataset['stage'] = state.quest;
    this.#quest.dataset['done'] = String(objective.done);
    this.#quest.dataset['collapsed'] = collapsed;
    const esc = (s: string) => s.replace(/[&<>"]/g, (c) => `&#${c.charCodeAt(0)};`);
    const log = state.log
      .slice(-4)
      .map((entry) => `<li>${esc(entry.text)}</li>`)
      .join('');
    this.#quest.innerHTML = `
      <h2><span>${esc(objective.title)}</span><small>${this.#questHint(collapsed === 'true')}</small></h2>
      <div class="body">
        <p class="goal">${esc(objective.goal)}</p>
        ${objective.say ? `<p class="say">Say to ${esc(objective.say.to)}: <q>${esc(objective.say.line)}</q></p>` : ''}
        ${state.quest === 'lantern' && state.count('lantern') === 0 ? `<p class="tip">${esc(HAGGLE_TIP)}</p>` : ''}
        ${log ? `<ol>${log}</ol>` : ''}
      </div>`;
  }

  toggleQuest(): void {
    const collapsed = this.#quest.dataset['collapsed'] !== 'true';
    this.#quest.dataset['collapsed'] = String(collapsed);
    const hint = this.#quest.querySelector('h2 small');
    if (hint) hint.textContent = this.#questHint(collapsed);
    this.root.querySelector('[data-action="quest"]')?.setAttribute('aria-pressed', String(!collapsed));
  }

  #questHint(collapsed: boolean): string {
    return `${this.#touch ? 'Tap' : 'Q'} to ${collapsed ? 'show' : 'hide'}`;
  }

  /** Remaining budget, from the proxy's `/v1/usage`; `undefined` when the proxy does not report one. */
  renderBudget(text: string | undefined, low = false): void {
    this.#budget.dataset['known'] = String(text !== undefined);
    this.#budget.textContent = text ?? 'Budget: not reported by this proxy';
    this.#budget.style.color = low ? '#ffb3a6' : '';
  }

  toast(text: string): void {
    const el = document.createElement('div');
    el.textContent = text;
    this.#toasts.append(el);
    setTimeout(() => el.remove(), 3300);
    while (this.#toasts.childElementCount > 4) this.#toasts.firstElementChild?.remove();
  }

  /**
   * Shows the last lines of a conversation just above the dialogue box, whose top edge is at `boxTop`
   * (fraction of the canvas height) inside `canvas`.
   */
  showHistory(
    name: string,
    lines: Array<{ role: 'user' | 'assistant'; text: string; event?: boolean }>,
    box?: { left: number; top: number },
  ): void {
    if (box) this.placeHistory(box);
    if (lines.length === 0) {
      this.hideHistory();
      return;
    }
    const title = document.createElement('h3');
    title.textContent = `Earlier with ${name}`;
    const rows = lines.map((line) => {
      const p = document.createElement('p');
      const who = document.createElement('b');
      if (line.event) {
        p.className = 'event';
        p.textContent = `(${line.text})`;
        return p;
      }
      p.className = line.role === 'user' ? 'you' : 'npc';
      who.textContent = line.role === 'user' ? 'You: ' : `${name}: `;
      const text = line.text.length > 160 ? `${line.text.slice(0, 157)}…` : line.text;
      p.append(who, text);
      return p;
    });
    this.#history.replaceChildren(title, ...rows);
    this.#history.style.display = 'flex';
  }

  /**
   * Keeps the history panel just above the dialogue box, whose top-left corner is at `box` (CSS pixels
   * in the viewport), and below the HUD cards; call it whenever the box may have moved (a resize).
   */
  placeHistory(box: { left: number; top: number }): void {
    // The lowest HUD card in the panel's way (on a phone they sit along the top).
    let ceiling = 8;
    const right = this.historyVisible ? this.#history.getBoundingClientRect().right : window.innerWidth;
    for (const card of this.root.querySelectorAll<HTMLElement>(
      '#hud-top, #hud-purse, #hud-quest, #hud-touch',
    )) {
      const rect = card.getBoundingClientRect();
      const above = rect.height > 0 && rect.bottom <= box.top;
      if (above && rect.left < right && rect.right > box.left) ceiling = Math.max(ceiling, rect.bottom + 6);
    }
    const bottom = Math.round(window.innerHeight - box.top + 8);
    const maxHeight = Math.round(box.top - 8 - ceiling);
    const place = `${Math.round(box.left)},${bottom},${maxHeight}`;
    if (place === this.#historyPlace) return;
    this.#historyPlace = place;
    this.#history.style.left = `${Math.round(box.left)}px`;
    this.#history.style.bottom = `${bottom}px`;
    this.#history.style.maxHeight = `${Math.max(0, maxHeight)}px`;
    // Too little room (a phone on its side): the conversation matters more than its past.
    this.#history.style.visibility = maxHeight < 48 ? 'hidden' : '';
  }

  get historyVisible(): boolean {
    return this.#history.style.display === 'flex';
  }

  hideHistory(): void {
    this.#history.style.display = 'none';
  }

  get coinsShown(): number | undefined {
    return this.#lastCoins;
  }

  destroy(): void {
    this.root.remove();
  }
}

/** Whether the primary pointer is a finger: hints then name taps, and buttons stand in for keys. */
export function isTouchScreen(doc: Document = document): boolean {
  return doc.defaultView?.matchMedia?.('(pointer: coarse)').matches === true;
}

/** The title menu: Start (no save) or Continue, and New game. Resolves with the choice. */
export function showMenu(hasSave: boolean, doc: Document = document): Promise<MenuChoice> {
  doc.getElementById('menu')?.remove();
  const menu = doc.createElement('div');
  menu.id = 'menu';
  menu.innerHTML = `
    <div class="card" role="dialog" aria-label="Eastwatch">
      <h1>Eastwatch</h1>
      <p class="sub">A village at dusk. The north gate is shut. Talk your way out.</p>
      ${hasSave ? '<button data-choice="continue" autofocus>Continue</button><button data-choice="new" class="secondary">New game</button>' : '<button data-choice="start" autofocus>Start</button>'}
      <p class="note">${isTouchScreen(doc) ? 'Tap the ground to walk there. Tap a villager to talk, and type anything.' : 'Walk with <kbd>←↑↓→</kbd>/<kbd>WASD</kbd> or by clicking. Talk with <kbd>E</kbd> and type anything.'}<br>Every villager is an AI character served by Parley.</p>
    </div>`;
  doc.body.append(menu);
  const first = menu.querySelector('button');
  setTimeout(() => first?.focus(), 0);
  const card = menu.querySelector('.card')!;
  const start = card.innerHTML;
  return new Promise((resolve) => {
    menu.addEventListener('click', (event) => {
      const choice = (event.target as HTMLElement).closest('button')?.dataset['choice'];
      if (!choice) return;
      if (choice === 'new') {
        // Every conversation is deleted on the proxy: not something one click should do by accident.
        card.innerHTML = `
          <h1>New game?</h1>
          <p class="sub">This forgets your saved game and every conversation with the villagers.<br>It cannot be undone.</p>
          <button data-choice="confirm-new">Yes, start over</button><button data-choice="back" class="secondary">Back</button>`;
        setTimeout(() => card.querySelector<HTMLElement>('[data-choice="back"]')?.focus(), 0);
        return;
      }
      if (choice === 'back') {
        card.innerHTML = start;
        setTimeout(() => card.querySelector('button')?.focus(), 0);
        return;
      }
      menu.remove();
      resolve({ kind: choice === 'confirm-new' ? 'new' : (choice as MenuChoice['kind']) });
    });
  });
}

/** The card shown when the player walks out through the gate. */
export function showEnding(doc: Document = document): Promise<void> {
  doc.getElementById('menu')?.remove();
  const menu = doc.createElement('div');
  menu.id = 'menu';
  menu.innerHTML = `
    <div class="card" role="dialog" aria-label="The north road">
      <h1>The North Road</h1>
      <p class="sub">Eastwatch falls behind you. Marta found you work, Tilda sold you a lantern,<br>Odo traded it for a word, and Brom let you pass.</p>
      <button data-choice="stay" autofocus>Keep exploring</button>
      <p class="note">Try it again with a real model (OPENAI_API_KEY in .env): haggle harder, ask Odo about the Long Winter, or try to talk Brom round.</p>
    </div>`;
  doc.body.append(menu);
  setTimeout(() => menu.querySelector('button')?.focus(), 0);
  return new Promise((resolve) => {
    menu.querySelector('button')?.addEventListener('click', () => {
      menu.remove();
      resolve();
    });
  });
}
