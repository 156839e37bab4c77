import type {
  ChatCompletionCreateParams,
  ChatCompletionMessageParam,
} from 'openai/resources/chat/completions';
import { describe, expect, it } from 'vitest';
import { memoryNote, memorySection } from '../turns/memory.js';
import { splitMemoryNote } from './memory-note.js';
import { generateReply, type OfflineReply } from './reply.js';
import { BROM, MIRA, ODO } from './test-fixtures.js';

/** The system message exactly as the proxy builds it once the line with the name fell out of the prompt. */
function withNote(instructions: string, dropped: ChatCompletionMessageParam[]): string {
  const note = memoryNote(dropped);
  if (!note) throw new Error('the dropped lines left no note');
  return `${instructions}\n\n${memorySection(note)}`;
}

const DROPPED: ChatCompletionMessageParam[] = [
  { role: 'user', content: 'Hello there, my name is Ada.' },
  { role: 'assistant', content: 'Aye, hello, Ada.' },
];

/** A conversation past the budget: the note in the system message, then a few visible lines. */
function later(instructions: string, line: string): ChatCompletionCreateParams {
  return {
    model: 'parley-offline',
    messages: [
      { role: 'system', content: withNote(instructions, DROPPED) },
      { role: 'user', content: 'Where is the inn?' },
      { role: 'assistant', content: 'Down the road, by the river.' },
      { role: 'user', content: line },
    ],
  };
}

function text(reply: OfflineReply): string {
  if (reply.kind !== 'text') throw new Error(`expected text, got ${JSON.stringify(reply)}`);
  return reply.text;
}

describe('splitMemoryNote', () => {
  it('takes the note out of the instructions and reads the name in it', () => {
    const { text: rest, note } = splitMemoryNote(withNote(BROM, DROPPED));
    expect(rest).toBe(BROM);
    expect(note.playerName).toBe('Ada');
    expect(note.lines).toContain("The player's name is Ada.");
  });

  it('reads a summary that says "The player is Ada." too, and leaves a system without a note alone', () => {
    expect(splitMemoryNote(`${ODO}\n\n${memorySection('- The player is Ada.')}`).note.playerName).toBe('Ada');
    expect(splitMemoryNote(ODO)).toEqual({ text: ODO, note: { playerName: undefined, lines: [] } });
  });
});

describe('the player name the memory note kept', () => {
  it.each([
    ['Brom', BROM],
    ['Mira', MIRA],
    ['Odo', ODO],
  ])('%s greets Ada by name after her introduction fell out of the prompt', (_, npc) => {
    expect(text(generateReply(later(npc, 'Hello again!'), 1))).toMatch(/\bAda\b/);
  });

  it('says her name when asked, and admits not knowing it without a note', () => {
    expect(text(generateReply(later(BROM, "What's my name?"), 1))).toMatch(/\bAda\b/);
    expect(text(generateReply(later(MIRA, 'Do you remember me?'), 2))).toMatch(/\bAda\b/);
    const stranger = generateReply(
      {
        model: 'parley-offline',
        messages: [
          { role: 'system', content: MIRA },
          { role: 'user', content: 'Hello!' },
          { role: 'assistant', content: 'Well, hello, dear.' },
          { role: 'user', content: "What's my name?" },
        ],
      },
      1,
    );
    expect(text(stranger)).toMatch(/ever told me your name|haven't told me your name/i);
  });

  it('uses it naturally, not in every line', () => {
    const replies = ['When does the gate close?', 'Who runs the Rusty Nail?'].map((line) =>
      text(generateReply(later(BROM, line), 1)),
    );
    expect(replies.some((reply) => !/\bAda\b/.test(reply))).toBe(true);
  });

  it('never says the note as if it were its own lore', () => {
    for (const line of ['Tell me about yourself.', 'What did you learn?', 'Any news?', 'Hello again!'])
      for (const npc of [BROM, MIRA, ODO])
        expect(text(generateReply(later(npc, line), 3))).not.toMatch(
          /earlier in this conversation|learned:/i,
        );
  });
});

describe('the player name told in the visible lines', () => {
  it.each(['Hello, my name is Ada.', "I'm Ada, from Varn.", 'Call me Ada.'])(
    '«%s» is used when saying goodbye',
    (introduction) => {
      const reply = generateReply(
        {
          model: 'parley-offline',
          messages: [
            { role: 'system', content: ODO },
            { role: 'user', content: introduction },
            { role: 'assistant', content: 'Ah, greetings. I am Odo, a scholar of the old tongue.' },
            { role: 'user', content: 'Goodbye!' },
          ],
        },
        1,
      );
      expect(text(reply)).toMatch(/\bAda\b/);
    },
  );

  it('is newer than the name the memory note kept', () => {
    const request = later(BROM, 'Hello again!');
    request.messages.splice(1, 0, { role: 'user', content: 'Actually, call me Wren.' });
    expect(text(generateReply(request, 1))).toMatch(/\bWren\b/);
  });
});
