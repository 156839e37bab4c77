import { stripCitations, type Turn } from '@parley/dialogue';
import { createVoice, type SpokenClip, type Voice, type VoiceOptions } from '@parley/dialogue/voice';
import * as Phaser from 'phaser';
import type { PushToTalkOptions } from './push-to-talk.js';

/** Options of the plugin's voice (`connect({ voice })`). */
export interface NpcVoiceOptions extends Omit<VoiceOptions, 'url' | 'fetch' | 'auth'> {
  /** Whether NPCs speak before the player chose (the remembered mute wins). Default true. */
  enabled?: boolean;
  /** Voice of NPCs that name none. Default `'alloy'`. */
  defaultVoice?: string;
  /** Where mute and volume are remembered (`localStorage`). Default `'parley.voice'`; `false` for nowhere. */
  storageKey?: string | false;
  /** Push-to-talk (hold `V`; on touch, the 🎤 button): `false` turns it off. Default on. */
  pushToTalk?: boolean | PushToTalkOptions;
}

/**
 * How long the voice may keep the text waiting for a clip (a slow or stuck speech request) before the
 * dialogue box types on without it.
 */
export const STALL_MS = 4000;

/** The reply being followed: how much of it is said, and the clip playing now. */
interface Pace {
  turn: Turn;
  /** The end of the last sentence said. */
  said: number;
  playing?: { start: number; end: number; began: number; seconds: number } | undefined;
  /** Whether the reply is still streaming (more clips may come). */
  streaming: boolean;
  /** A clip failed: the text no longer waits for the voice. */
  failed: boolean;
  /** Since when the voice has a clip to play but none playing, for {@link STALL_MS}. */
  since: number;
  /** Told of each clip's progress (the debug console); see {@link NpcVoice.report}. */
  listener?: ((clip: ClipReport) => void) | undefined;
}

/** A clip of a reply as it goes: requested, first audio, playing, played (or stopped, failed). */
export interface ClipReport {
  /** 0-based position in the reply. */
  readonly index: number;
  readonly text: string;
  status: 'requested' | 'playing' | 'played' | 'stopped' | 'failed';
  /** From the sentence's end (its request) to its first audio byte, in ms. */
  firstAudioMs?: number;
  /** From the sentence's end to the clip starting to play, in ms (it may wait for the clip before it). */
  playsAfterMs?: number;
  /** The clip's length, in seconds. */
  seconds?: number;
}

/** A clip on its way to the speaker, with the reply it paces and its report. */
interface Paced {
  pace: Pace;
  clip: SpokenClip;
  report: ClipReport;
}

function pacedClip(pace: Pace, clip: SpokenClip): Paced {
  const paced: Paced = { pace, clip, report: { index: clip.index, text: clip.text, status: 'requested' } };
  pace.listener?.(paced.report);
  clip.firstAudioAt.then(
    (at) => updateClip(paced, { firstAudioMs: at - clip.requestedAt }),
    () => {},
  );
  return paced;
}

function updateClip(paced: Paced, change: Partial<ClipReport>): void {
  // A stopped or failed clip stays so.
  if (paced.report.status === 'stopped' || paced.report.status === 'failed') return;
  Object.assign(paced.report, change);
  paced.pace.listener?.(paced.report);
}

function clipStarts(paced: Paced, buffer: AudioBuffer | undefined, now: number): void {
  const { pace, clip } = paced;
  if (!buffer) {
    pace.failed = true;
    updateClip(paced, { status: 'failed' });
    return;
  }
  pace.playing = { start: clip.start, end: clip.end, began: now, seconds: buffer.duration };
  updateClip(paced, {
    status: 'playing',
    seconds: buffer.duration,
    playsAfterMs: performance.now() - clip.requestedAt,
  });
}

function clipEnds(paced: Paced, stopped: boolean): void {
  const { pace, clip } = paced;
  if (paced.report.status === 'playing') updateClip(paced, { status: stopped ? 'stopped' : 'played' });
  if (stopped) return;
  pace.said = Math.max(pace.said, clip.end);
  pace.playing = undefined;
  pace.since = performance.now();
}

/** What the voice needs of an NPC: its sprite (for the speaking indicator) and its voice name. */
export interface VoicedNpc {
  readonly sprite: { x: number; y: number; displayHeight: number; displayWidth?: number; originY?: number };
  readonly voice: string | undefined;
}

/**
 * The NPCs' voices in one scene: speaks each reply sentence by sentence as it streams (through
 * `@parley/dialogue/voice`), plays it through Phaser's Web Audio sound manager (so the game's master
 * volume and mute apply), shows a speaking indicator beside the NPC, and stops at once on `stop()`.
 * Mute and volume are remembered. Made by the plugin's `connect({ voice })`; reach it as
 * `this.parley.voice`.
 */
export class NpcVoice {
  readonly #scene: Phaser.Scene;
  readonly #client: Voice;
  readonly #defaultVoice: string;
  readonly #storageKey: string | false;
  readonly #indicator: Phaser.GameObjects.Text;
  #context: AudioContext | undefined;
  #gain: GainNode | undefined;
  #muted: boolean;
  #volume = 1;
  #stop: AbortController | undefined;
  #source: AudioBufferSourceNode | undefined;
  #speaker: VoicedNpc | undefined;
  #queue: Promise<void> = Promise.resolve();
  #pending = 0;
  // How far the reply being followed is said, for subtitles that follow the audio (see spokenUpTo).
  #pace: Pace | undefined;
  readonly #unlock = (): void => void this.#context?.resume().catch(() => {});

  /** @internal Use `connect({ voice })`. */
  constructor(
    scene: Phaser.Scene,
    client: Pick<VoiceOptions, 'url' | 'fetch' | 'auth'>,
    options: NpcVoiceOptions,
  ) {
    this.#scene = scene;
    const { enabled = true, defaultVoice = 'alloy', storageKey = 'parley.voice', ...voiceOptions } = options;
    this.#client = createVoice({ ...voiceOptions, ...client });
    this.#defaultVoice = defaultVoice;
    this.#storageKey = storageKey;
    const saved = this.#load();
    this.#muted = saved?.muted ?? !enabled;
    this.#volume = saved?.volume ?? 1;
    this.#indicator = scene.add
      .text(0, 0, '🔊', { fontSize: '16px' })
      .setOrigin(0, 1)
      .setDepth(9_003)
      .setVisible(false);
    // Browsers start audio suspended until the page is touched or a key pressed; Phaser unlocks its own
    // context the same way, this covers a context made here.
    const view = scene.game.canvas.ownerDocument.defaultView;
    view?.addEventListener('keydown', this.#unlock, true);
    view?.addEventListener('pointerdown', this.#unlock, true);
    scene.events.on(Phaser.Scenes.Events.UPDATE, this.#follow, this);
  }

  /** The `@parley/dialogue/voice` client: `voice.client.listen(clip)` transcribes through the proxy. */
  get client(): Voice {
    return this.#client;
  }

  /** Whether NPCs are silent; remembered across visits. */
  get muted(): boolean {
    return this.#muted;
  }

  set muted(muted: boolean) {
    this.#muted = muted;
    if (muted) this.stop();
    this.#save();
  }

  /** Voice volume, 0 to 1 (under the game's master volume); remembered across visits. */
  get volume(): number {
    return this.#volume;
  }

  set volume(volume: number) {
    this.#volume = Math.min(1, Math.max(0, volume));
    if (this.#gain) this.#gain.gain.value = this.#volume;
    this.#save();
  }

  /** Whether a clip is playing or about to (requested, decoding). */
  get speaking(): boolean {
    return this.#source !== undefined || this.#pending > 0;
  }

  /**
   * Speaks a turn's reply as it streams, replacing whatever was being said. The `> reply` lines offered
   * as chips are not spoken.
   */
  follow(npc: VoicedNpc, turn: Turn): void {
    if (this.#muted) return;
    const controller = this.#restart(npc);
    const pace: Pace = { turn, said: 0, streaming: true, failed: false, since: performance.now() };
    this.#pace = pace;
    const clips = this.#client.speakTurn(turn, {
      voice: npc.voice ?? this.#defaultVoice,
      signal: controller.signal,
      // The `> reply` lines are the chips' (see suggestions.ts), not speech.
      prepare: (sentence) => (/^\s*>/.test(sentence) ? '' : stripCitations(sentence)),
    });
    void (async () => {
      for await (const clip of clips) this.#enqueue(clip.audio, controller.signal, pacedClip(pace, clip));
    })()
      .catch(() => {
        pace.failed = true;
      })
      .finally(() => {
        pace.streaming = false;
      });
  }

  /**
   * How much of `turn`'s reply has been said aloud (UTF-16 offset into its text), growing through each
   * sentence as its clip plays: the dialogue box types no further, so the subtitles follow the voice.
   * Undefined when the voice does not hold the text back: not following this turn, muted, everything
   * said, a clip that failed, audio the browser has not unlocked, or no audio for {@link STALL_MS}.
   */
  spokenUpTo(turn: Turn): number | undefined {
    const pace = this.#pace;
    if (!pace || pace.turn !== turn || pace.failed || this.#muted) return undefined;
    if (this.#context && this.#context.state !== 'running') return undefined;
    const playing = pace.playing;
    if (playing && this.#context) {
      const elapsed = this.#context.currentTime - playing.began;
      const part = playing.seconds > 0 ? Math.min(1, Math.max(0, elapsed / playing.seconds)) : 1;
      return Math.round(playing.start + (playing.end - playing.start) * part);
    }
    if (!pace.streaming && this.#pending === 0) return undefined;
    // A voice that went quiet (a slow or stuck speech request) stops holding the text back. (With no
    // clip requested, the sentence is still arriving: the text waits for it to be said.)
    if (this.#pending > 0 && performance.now() - pace.since > STALL_MS) return undefined;
    return pace.said;
  }

  /**
   * Tells `listener` how each clip of `turn`'s reply goes (requested, its time to first audio, its length,
   * played or stopped), while the voice follows that turn. The debug console shows it.
   */
  report(turn: Turn, listener: (clip: ClipReport) => void): void {
    if (this.#pace?.turn === turn) this.#pace.listener = listener;
  }

  /** Speaks one line (a bark, a scripted line), replacing whatever was being said. */
  say(npc: VoicedNpc, text: string): void {
    if (this.#muted || !text.trim()) return;
    const controller = this.#restart(npc);
    this.#pace = undefined;
    const audio = this.#client.speak(text, {
      voice: npc.voice ?? this.#defaultVoice,
      signal: controller.signal,
    });
    audio.catch(() => {});
    this.#enqueue(audio, controller.signal);
  }

  /** Stops the voice at once: the clip playing and every one still coming. Returns whether any was. */
  stop(): boolean {
    const was = this.speaking;
    this.#stop?.abort();
    this.#stop = undefined;
    this.#pending = 0;
    const source = this.#source;
    this.#source = undefined;
    if (source) {
      source.onended = null;
      source.stop();
    }
    this.#speaker = undefined;
    this.#pace = undefined;
    this.#indicator.setVisible(false);
    return was;
  }

  /** Stops, and removes the indicator and every listener. */
  destroy(): void {
    this.stop();
    const view = this.#scene.game?.canvas?.ownerDocument.defaultView;
    view?.removeEventListener('keydown', this.#unlock, true);
    view?.removeEventListener('pointerdown', this.#unlock, true);
    this.#scene.events?.off(Phaser.Scenes.Events.UPDATE, this.#follow, this);
    this.#indicator.destroy();
    this.#gain?.disconnect();
  }

  #restart(npc: VoicedNpc): AbortController {
    this.stop();
    const controller = new AbortController();
    this.#stop = controller;
    this.#speaker = npc;
    this.#queue = Promise.resolve();
    return controller;
  }

  // Clips decode as soon as they arrive and play one after another.
  #enqueue(audio: Promise<ArrayBuffer>, signal: AbortSignal, paced?: Paced): void {
    const context = this.#audio();
    if (paced && this.#pending === 0 && !paced.pace.playing) paced.pace.since = performance.now();
    this.#pending++;
    const decoded = audio.then((bytes) => context.decodeAudioData(bytes));
    decoded.catch(() => {});
    this.#queue = this.#queue
      .then(async () => {
        const buffer = await decoded.catch(() => undefined);
        if (signal.aborted) {
          if (paced) updateClip(paced, { status: 'stopped' });
          return;
        }
        this.#pending--;
        if (paced) clipStarts(paced, buffer, context.currentTime);
        if (buffer) await this.#play(context, buffer, signal);
        if (paced) clipEnds(paced, signal.aborted);
        if (!signal.aborted && !this.speaking) this.#indicator.setVisible(false);
      })
      .catch(() => {});
  }

  #play(context: AudioContext, buffer: AudioBuffer, signal: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      const source = context.createBufferSource();
      source.buffer = buffer;
      source.connect(this.#gain!);
      source.onended = () => {
        if (this.#source === source) this.#source = undefined;
        resolve();
      };
      signal.addEventListener('abort', () => resolve(), { once: true });
      this.#source = source;
      this.#indicator.setVisible(true);
      this.#follow();
      source.start();
    });
  }

  // Phaser's Web Audio context when the game has one (its master volume and mute then apply), else our own.
  #audio(): AudioContext {
    if (!this.#context) {
      const manager = this.#scene.sound as Partial<Phaser.Sound.WebAudioSoundManager>;
      this.#context = manager.context ?? new AudioContext();
      this.#gain = this.#context.createGain();
      this.#gain.gain.value = this.#volume;
      this.#gain.connect(
        manager.context && manager.destination ? manager.destination : this.#context.destination,
      );
    }
    if (this.#context.state === 'suspended') this.#unlock();
    return this.#context;
  }

  #follow(): void {
    const npc = this.#speaker;
    if (!npc || !this.#indicator.visible) return;
    const { sprite } = npc;
    const top = sprite.y - sprite.displayHeight * (sprite.originY ?? 0.5);
    this.#indicator.setPosition(sprite.x + (sprite.displayWidth ?? 0) / 2, top + 4);
    // A gentle pulse, so a glance tells who is talking.
    this.#indicator.setAlpha(0.6 + 0.4 * Math.abs(Math.sin(this.#scene.time.now / 220)));
  }

  #load(): { muted?: boolean; volume?: number } | undefined {
    if (this.#storageKey === false) return undefined;
    try {
      return JSON.parse(globalThis.localStorage?.getItem(this.#storageKey) ?? 'null') ?? undefined;
    } catch {
      return undefined;
    }
  }

  #save(): void {
    if (this.#storageKey === false) return;
    try {
      globalThis.localStorage?.setItem(
        this.#storageKey,
        JSON.stringify({ muted: this.#muted, volume: this.#volume }),
      );
    } catch {
      // Private mode or a full quota: the choice holds for this visit only.
    }
  }
}
