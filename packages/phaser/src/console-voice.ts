// The debug console's view of the voice: each clip of a reply, with its time to first audio (from the end
// of its sentence to the first audio byte) and its length, as NpcVoice reports them.
import type { RunRecord } from './console-model.js';

const ms = (value: number | undefined) => (value === undefined ? '—' : `${Math.round(value)} ms`);

/**
 * The console's "Voice" section of a run: one line per clip (sentence, time to first audio, when it began
 * to play, its length, how it ended). Nothing for a run that was not spoken.
 */
export function voiceSection(doc: Document, run: RunRecord): HTMLElement[] {
  const clips = run.clips;
  if (!clips || clips.length === 0) return [];
  const el = (tag: string, attributes: Record<string, string>, ...children: Array<Node | string>) => {
    const element = doc.createElement(tag);
    for (const [name, value] of Object.entries(attributes)) element.setAttribute(name, value);
    element.append(...children);
    return element;
  };
  const seconds = clips.reduce((sum, clip) => sum + (clip.seconds ?? 0), 0);
  return [
    el('h3', {}, `Voice (${clips.length} clips, ${seconds.toFixed(1)} s)`),
    el(
      'ol',
      { 'data-field': 'clips' },
      ...clips.map((clip) =>
        el(
          'li',
          { 'data-status': clip.status, class: clip.status === 'failed' ? 'error' : '' },
          el('span', { class: 't', 'data-field': 'first-audio' }, `first audio ${ms(clip.firstAudioMs)}`),
          el(
            'span',
            { class: 'k', 'data-field': 'length' },
            clip.seconds === undefined ? '…' : `${clip.seconds.toFixed(2)} s`,
          ),
          `${clip.status}${clip.playsAfterMs === undefined ? '' : ` (plays at +${ms(clip.playsAfterMs)})`} · `,
          JSON.stringify(clip.text.length > 60 ? `${clip.text.slice(0, 59)}…` : clip.text),
        ),
      ),
    ),
  ];
}
