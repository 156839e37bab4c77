import { type ConsoleModel, type NpcRecord, type RunRecord, runToJSON } from './console-model.js';
import { fileSearchSection } from './console-searches.js';
import { voiceSection } from './console-voice.js';

/** What the console asks of the plugin. */
export interface ConsoleHost {
  /** Sends a raw line to an NPC (as if the player had typed it); returns why it was not sent, if not. */
  send(npcId: string, text: string): string | undefined;
  /** Loads the NPC's assistant (`npc.ensure()`) into the model. */
  loadAssistant(npcId: string): void;
  /** Reads the NPC's thread and gives its metadata to `model.setMemory` (for the memory note). */
  loadMemory?(npcId: string): void;
  /** The console opened or closed. */
  toggled(open: boolean): void;
  /** Longest raw line, in characters (the dialogue box's limit). Default 400. */
  maxLineLength?: number | undefined;
  /** The toggle key as the player sees it (e.g. "`"), or undefined when there is none. */
  keyLabel?: string | undefined;
}

type Child = Node | string | false | null | undefined;

const STYLE = `
[data-parley="console"]{position:fixed;top:8px;right:8px;z-index:2147483000;width:min(540px,calc(100vw - 16px));
max-height:calc(100vh - 16px);overflow:auto;box-sizing:border-box;padding:10px 12px;border:1px solid #4c566a;
border-radius:8px;background:rgba(14,16,22,0.95);color:#d8dee9;font:12px/1.45 ui-monospace,SFMono-Regular,Menlo,Consolas,"DejaVu Sans Mono",monospace;
user-select:text;-webkit-user-select:text;box-shadow:0 8px 28px rgba(0,0,0,0.5)}
[data-parley="console"] *{box-sizing:border-box}
[data-parley="console"] h2{font-size:13px;margin:0 0 6px;color:#ebcb8b;display:flex;gap:8px;align-items:baseline}
[data-parley="console"] h3{font-size:12px;margin:10px 0 4px;color:#88c0d0;text-transform:uppercase;letter-spacing:.06em}
[data-parley="console"] small{color:#7b8497;font-weight:normal}
[data-parley="console"] button{font:inherit;color:#e5e9f0;background:#3b4252;border:1px solid #4c566a;border-radius:4px;padding:1px 8px;cursor:pointer}
[data-parley="console"] button:hover{background:#434c5e}
[data-parley="console"] input{font:inherit;color:#e5e9f0;background:#2e3440;border:1px solid #4c566a;border-radius:4px;padding:3px 6px;flex:1;min-width:0}
[data-parley="console"] .row{padding:3px 6px;border-radius:4px;cursor:pointer;border:1px solid transparent}
[data-parley="console"] .row:hover{background:#2e3440}
[data-parley="console"] .row[aria-selected="true"]{border-color:#5e81ac;background:#232a36}
[data-parley="console"] code{color:#a3be8c}
[data-parley="console"] pre{margin:4px 0;padding:6px;background:#1c2028;border-radius:4px;white-space:pre-wrap;word-break:break-word;max-height:160px;overflow:auto}
[data-parley="console"] dl{display:grid;grid-template-columns:auto minmax(0,1fr) auto minmax(0,1fr);gap:1px 10px;margin:4px 0}
[data-parley="console"] dt{color:#7b8497}
[data-parley="console"] dd{margin:0;color:#eceff4;overflow-wrap:anywhere}
[data-parley="console"] ol{margin:4px 0;padding:0 0 0 4px;list-style:none;max-height:220px;overflow:auto;background:#1c2028;border-radius:4px}
[data-parley="console"] li{padding:0 4px;white-space:pre-wrap;word-break:break-word}
[data-parley="console"] li .t{color:#7b8497;display:inline-block;min-width:62px}
[data-parley="console"] li .k{color:#b48ead;display:inline-block;min-width:84px}
[data-parley="console"] .error{color:#bf616a}
[data-parley="console"] .ok{color:#a3be8c}
[data-parley="console"] form{display:flex;gap:6px;margin-top:10px}
`;

const ms = (value: number | undefined) => (value === undefined ? '—' : `${Math.round(value)} ms`);
const usd = (value: number | undefined) =>
  value === undefined ? '—' : value === 0 ? '$0 (free)' : `$${value.toFixed(value < 0.01 ? 6 : 4)}`;

/**
 * The in-game debug console: a DOM overlay (selectable, copyable text) listing every NPC with its
 * assistant settings and thread, the runs of the selected NPC, and the selected run's live events,
 * timings, tokens, cost, tool calls and errors; a field sends a raw line; a button copies the run as
 * JSON. It renders a {@link ConsoleModel}; the plugin feeds the model and toggles the console.
 */
export class DebugConsole {
  readonly element: HTMLElement;
  readonly #model: ConsoleModel;
  readonly #host: ConsoleHost;
  readonly #doc: Document;
  readonly #style: HTMLStyleElement;
  readonly #npcList: HTMLElement;
  readonly #runList: HTMLElement;
  readonly #detail: HTMLElement;
  readonly #rawInput: HTMLInputElement;
  readonly #status: HTMLElement;
  readonly #unsubscribe: () => void;
  #selectedNpc: string | undefined;
  #selectedRun: number | undefined;
  #pending = false;
  #open = false;
  readonly #onClick = (event: MouseEvent): void => this.#click(event);
  readonly #onSubmit = (event: SubmitEvent): void => this.#submit(event);
  readonly #stopKey = (event: KeyboardEvent): void => {
    // Typing here must not walk the player (Phaser listens on window). (The toggle key is handled on
    // the window's capture phase, before this, and leaves text fields alone.)
    event.stopPropagation();
    if (event.type === 'keydown' && event.key === 'Escape') {
      event.preventDefault();
      this.toggle(false);
    }
  };
  readonly #onRawInput = (): void => this.#rawCount();

  constructor(document: Document, model: ConsoleModel, host: ConsoleHost) {
    this.#doc = document;
    this.#model = model;
    this.#host = host;
    this.#style = document.createElement('style');
    this.#style.textContent = STYLE;
    this.#npcList = this.#h('div', { 'data-field': 'npcs' });
    this.#runList = this.#h('div', { 'data-field': 'runs' });
    this.#detail = this.#h('div', { 'data-field': 'run' });
    this.#status = this.#h('small', { 'data-field': 'notice', 'aria-live': 'polite' });
    this.#rawInput = this.#h('input', {
      type: 'text',
      'data-field': 'raw',
      placeholder: 'Send a raw line to the selected NPC',
      'aria-label': 'Raw line for the selected NPC',
      autocomplete: 'off',
      maxlength: String(Math.max(1, host.maxLineLength ?? 400)),
    });
    this.#rawInput.addEventListener('input', this.#onRawInput);
    this.element = this.#h(
      'div',
      { 'data-parley': 'console', role: 'dialog', 'aria-label': 'Parley debug console', hidden: '' },
      this.#h(
        'h2',
        {},
        'Parley console',
        this.#h('small', {}, host.keyLabel ? `${host.keyLabel} or Esc to close` : 'Esc to close'),
        this.#h('span', { style: 'flex:1' }),
        this.#h('button', { type: 'button', 'data-action': 'close' }, 'Close'),
      ),
      this.#h('h3', {}, 'NPCs'),
      this.#npcList,
      this.#h('h3', {}, 'Runs'),
      this.#runList,
      this.#detail,
      this.#h(
        'form',
        { 'data-field': 'send' },
        this.#rawInput,
        this.#h('button', { type: 'submit' }, 'Send'),
      ),
      this.#status,
    );
    this.element.addEventListener('click', this.#onClick);
    this.element.addEventListener('submit', this.#onSubmit);
    this.element.addEventListener('keydown', this.#stopKey);
    this.element.addEventListener('keyup', this.#stopKey);
    document.head.append(this.#style);
    document.body.append(this.element);
    this.#unsubscribe = model.subscribe(() => this.#schedule());
  }

  /** Whether the console is showing. */
  get isOpen(): boolean {
    return this.#open;
  }

  /** Shows or hides the console (toggles without an argument). */
  toggle(open = !this.#open): void {
    if (open === this.#open) return;
    this.#open = open;
    this.element.hidden = !open;
    if (open) {
      for (const npc of this.#model.npcs)
        if (!npc.assistant && !npc.assistantError) this.#host.loadAssistant(npc.id);
      this.render();
      if (this.#selectedNpc !== undefined) this.#host.loadMemory?.(this.#selectedNpc);
    }
    this.#host.toggled(open);
  }

  /** Selects the NPC whose runs are shown (and follows its newest run). */
  select(npcId: string): void {
    this.#selectedNpc = npcId;
    this.#selectedRun = undefined;
    if (this.#open) this.#host.loadMemory?.(npcId);
    this.#schedule();
  }

  /** Re-renders now. */
  render(): void {
    this.#pending = false;
    if (!this.#open) return;
    const npcs = this.#model.npcs;
    if (!npcs.some((npc) => npc.id === this.#selectedNpc)) this.#selectedNpc = npcs[0]?.id;
    const npc = this.#selectedNpc === undefined ? undefined : this.#model.npc(this.#selectedNpc);
    this.#npcList.replaceChildren(
      ...(npcs.length ? npcs.map((n) => this.#npcRow(n, n === npc)) : ['No NPCs yet.']),
    );
    const runs = npc ? this.#model.runs(npc.id) : [];
    const run = runs.find((r) => r.seq === this.#selectedRun) ?? runs.at(-1);
    this.#runList.replaceChildren(
      ...(runs.length
        ? runs
            .slice(-8)
            .reverse()
            .map((r) => this.#runRow(r, r === run))
        : [this.#h('small', {}, 'No runs yet: say something to the NPC.')]),
    );
    this.#detail.replaceChildren(...(run ? this.#runDetail(run).filter((c): c is Node | string => !!c) : []));
    this.#rawInput.placeholder = npc ? `Send a raw line to ${npc.definition.name}` : 'No NPC to send to';
  }

  /** Removes the element, its style and listeners. */
  destroy(): void {
    this.#unsubscribe();
    this.element.removeEventListener('click', this.#onClick);
    this.element.removeEventListener('submit', this.#onSubmit);
    this.element.removeEventListener('keydown', this.#stopKey);
    this.element.removeEventListener('keyup', this.#stopKey);
    this.#rawInput.removeEventListener('input', this.#onRawInput);
    this.element.remove();
    this.#style.remove();
  }

  #schedule(): void {
    if (!this.#open || this.#pending) return;
    this.#pending = true;
    const win = this.#doc.defaultView;
    // Text deltas come many times a frame; render at most once per frame.
    if (win?.requestAnimationFrame) win.requestAnimationFrame(() => this.render());
    else setTimeout(() => this.render(), 16);
  }

  #npcRow(npc: NpcRecord, selected: boolean): HTMLElement {
    const { definition, assistant } = npc;
    const settings = assistant
      ? {
          id: assistant.id,
          name: assistant.name,
          model: assistant.model,
          temperature: assistant.temperature,
          tools: assistant.tools.map((tool) => (tool.type === 'function' ? tool.function.name : tool.type)),
          metadata: assistant.metadata,
          instructions: assistant.instructions,
        }
      : { ...definition, assistant: npc.assistantError ? `failed: ${npc.assistantError}` : 'loading…' };
    return this.#h(
      'div',
      { class: 'row', 'data-parley-npc': npc.id, 'aria-selected': String(selected) },
      this.#h('b', {}, definition.name),
      ' ',
      this.#h('small', {}, npc.id),
      ' · model ',
      this.#h('code', { 'data-field': 'model' }, assistant?.model ?? definition.model ?? '(proxy default)'),
      ' · thread ',
      this.#h('code', { 'data-field': 'thread' }, npc.threadId ?? '(none yet)'),
      selected && this.#h('pre', { 'data-field': 'assistant' }, JSON.stringify(settings, null, 2)),
      selected && this.#memory(npc),
    );
  }

  // Long memory: what the proxy still tells the NPC about lines that no longer fit its context.
  #memory(npc: NpcRecord): HTMLElement | undefined {
    if (npc.memory === undefined) return undefined;
    return this.#h(
      'div',
      { 'data-field': 'memory' },
      this.#h('small', {}, 'memory note (thread metadata parley_memory)'),
      npc.memory === null
        ? this.#h('pre', {}, '(none: the conversation still fits the context)')
        : this.#h('pre', {}, npc.memory),
    );
  }

  #runRow(run: RunRecord, selected: boolean): HTMLElement {
    const tokens = run.usage ? `${run.usage.total_tokens} tok` : '';
    return this.#h(
      'div',
      { class: 'row', 'data-parley-run': String(run.seq), 'aria-selected': String(selected) },
      `#${run.seq} `,
      this.#h('span', { class: statusClass(run) }, run.status),
      ` · ${JSON.stringify(run.line.length > 48 ? `${run.line.slice(0, 47)}…` : run.line)}`,
      ` · ttft ${ms(run.ttft)} · ${ms(run.total)} ${tokens}`,
      run.source === 'console' && this.#h('small', {}, ' (console)'),
    );
  }

  #runDetail(run: RunRecord): Child[] {
    const usage = run.usage;
    const field = (name: string, label: string, value: string, cls?: string) => [
      this.#h('dt', {}, label),
      this.#h('dd', { 'data-field': name, ...(cls && { class: cls }) }, value),
    ];
    return [
      this.#h(
        'h3',
        {},
        `Run #${run.seq} `,
        this.#h(
          'button',
          { type: 'button', 'data-action': 'copy', 'data-run': String(run.seq) },
          'Copy run as JSON',
        ),
      ),
      this.#h(
        'dl',
        {},
        ...field('status', 'status', run.status, statusClass(run)),
        ...field('run-id', 'run', run.runId ?? '—'),
        ...field('ttft', 'first token', ms(run.ttft)),
        ...field('total', 'total', ms(run.total)),
        ...field(
          'tokens',
          'tokens',
          usage ? `${usage.prompt_tokens} in + ${usage.completion_tokens} out = ${usage.total_tokens}` : '—',
        ),
        ...field('cost', 'cost', run.model ? `${usd(run.cost)} (${run.model})` : usd(run.cost)),
      ),
      run.error &&
        this.#h(
          'div',
          { 'data-field': 'error', class: run.error.code === 'interrupted' ? '' : 'error' },
          `error ${run.error.code}${run.error.retryable ? ' (retryable)' : ''}: ${run.error.message}`,
        ),
      run.tools.length > 0 && this.#h('h3', {}, 'Tool calls'),
      ...run.tools.map((tool) =>
        this.#h(
          'pre',
          { 'data-field': 'tool', class: tool.error === undefined ? '' : 'error' },
          `${tool.name}(${tool.arguments})\n→ ${tool.error === undefined ? (tool.output ?? '(running…)') : `error: ${tool.error}`}`,
        ),
      ),
      ...fileSearchSection(this.#doc, run),
      ...voiceSection(this.#doc, run),
      this.#h('h3', {}, `Events (${run.events.length})`),
      this.#h(
        'ol',
        { 'data-field': 'events' },
        ...run.events.map((event) =>
          this.#h(
            'li',
            { 'data-type': event.type },
            this.#h('span', { class: 't' }, `+${Math.round(event.at)} ms`),
            this.#h('span', { class: 'k' }, event.type),
            event.summary,
          ),
        ),
      ),
    ];
  }

  #click(event: MouseEvent): void {
    const target = event.target as HTMLElement;
    const action = target.closest<HTMLElement>('[data-action]');
    if (action?.dataset['action'] === 'close') {
      this.toggle(false);
      return;
    }
    if (action?.dataset['action'] === 'copy') {
      void this.#copy(Number(action.dataset['run']));
      return;
    }
    const npcRow = target.closest<HTMLElement>('[data-parley-npc]');
    // Let the player select text without switching rows.
    if (this.#doc.getSelection()?.toString()) return;
    if (npcRow?.dataset['parleyNpc'] && npcRow.dataset['parleyNpc'] !== this.#selectedNpc) {
      this.select(npcRow.dataset['parleyNpc']);
      return;
    }
    const runRow = target.closest<HTMLElement>('[data-parley-run]');
    if (runRow) {
      this.#selectedRun = Number(runRow.dataset['parleyRun']);
      this.#schedule();
    }
  }

  #submit(event: SubmitEvent): void {
    event.preventDefault();
    const text = this.#rawInput.value.trim();
    if (!text || this.#selectedNpc === undefined) return;
    const refusal = this.#host.send(this.#selectedNpc, text);
    if (refusal) {
      this.#status.textContent = refusal;
      return;
    }
    this.#rawInput.value = '';
    this.#status.textContent = '';
    this.#selectedRun = undefined;
  }

  // The field stops at the limit: say so, rather than cut a paste without a word.
  #rawCount(): void {
    const limit = this.#rawInput.maxLength;
    const length = this.#rawInput.value.length;
    this.#status.textContent =
      length >= limit ? `${length}/${limit} characters: the limit of a line (longer pastes are cut).` : '';
  }

  async #copy(seq: number): Promise<void> {
    const run = this.#model.runs().find((r) => r.seq === seq);
    if (!run) return;
    const json = JSON.stringify(runToJSON(run, this.#model.npc(run.npcId)), null, 2);
    let copied = false;
    try {
      await this.#doc.defaultView?.navigator.clipboard.writeText(json);
      copied = true;
    } catch {
      // No clipboard API (insecure origin, denied permission): copy through a selected textarea.
      const area = this.#h('textarea', { style: 'position:fixed;opacity:0;top:0;left:0' });
      area.value = json;
      this.element.append(area);
      area.select();
      try {
        copied = this.#doc.execCommand('copy');
      } catch {
        copied = false;
      }
      area.remove();
    }
    this.element.dataset['copied'] = String(seq);
    this.#status.textContent = copied
      ? `Run #${seq} copied as JSON (${json.length} characters).`
      : `Could not copy run #${seq}.`;
  }

  #h<K extends keyof HTMLElementTagNameMap>(
    tag: K,
    attributes: Record<string, string>,
    ...children: Child[]
  ): HTMLElementTagNameMap[K] {
    const element = this.#doc.createElement(tag);
    for (const [name, value] of Object.entries(attributes)) element.setAttribute(name, value);
    for (const child of children)
      if (child !== false && child !== null && child !== undefined) element.append(child);
    return element;
  }
}

function statusClass(run: RunRecord): string {
  if (run.status === 'failed') return 'error';
  return run.status === 'completed' ? 'ok' : '';
}
