import type {
  ChatCompletionCreateParams,
  ChatCompletionMessageParam,
  ChatCompletionToolChoiceOption,
} from 'openai/resources/chat/completions';
import { describe, expect, it } from 'vitest';
import { generateReply, type OfflineReply } from './reply.js';
import { BROM, GIVE_ITEM, MIRA, ODO, OPEN_GATE, SET_MOOD, TOOLS, talk } from './test-fixtures.js';

function request(messages: ChatCompletionMessageParam[], extra: Partial<ChatCompletionCreateParams> = {}) {
  return { model: 'parley-offline', messages, ...extra } as ChatCompletionCreateParams;
}

function text(reply: OfflineReply): string {
  if (reply.kind !== 'text') throw new Error(`expected text, got ${JSON.stringify(reply)}`);
  return reply.text;
}

function calls(reply: OfflineReply): Array<{ name: string; args: Record<string, unknown> }> {
  if (reply.kind !== 'tool_calls') throw new Error(`expected tool calls, got ${JSON.stringify(reply)}`);
  return reply.calls.map((c) => ({ name: c.name, args: JSON.parse(c.arguments) as Record<string, unknown> }));
}

describe('determinism', () => {
  it('gives the same reply for the same request and seed', () => {
    const r = request(talk(MIRA, 'Hello there! Tell me about dragons.'));
    expect(generateReply(r, 42)).toEqual(generateReply(structuredClone(r), 42));
  });

  it('varies phrasing with the seed', () => {
    const r = request(talk(MIRA, 'Hello there! Tell me about dragons.'));
    const replies = new Set([1, 2, 3, 4, 5, 6].map((seed) => text(generateReply(r, seed))));
    expect(replies.size).toBeGreaterThan(1);
  });

  it('answers different player lines differently', () => {
    const lines = ['Where is the mill?', 'Tell me about dragons.', 'I lost my sword.', 'Hello!', 'Goodbye!'];
    const replies = lines.map((line) => text(generateReply(request(talk(MIRA, line)), 1)));
    expect(new Set(replies).size).toBe(lines.length);
  });

  it('always takes the first phrasing at temperature 0, whatever the seed', () => {
    const r = request(talk(MIRA, 'Hello!'), { temperature: 0 });
    const replies = new Set([1, 2, 3, 4].map((seed) => text(generateReply(r, seed))));
    expect(replies.size).toBe(1);
    expect([...replies][0]).toMatch(/^Oh, hello there, friend\./);
  });
});

describe('persona', () => {
  it('introduces itself by name and role when greeted', () => {
    const reply = text(generateReply(request(talk(MIRA, 'Hello!')), 1));
    expect(reply).toContain("I'm Mira, a baker.");
  });

  it('answers "who are you" in its manner: terse NPCs say less', () => {
    const brom = text(generateReply(request(talk(BROM, 'Who are you?')), 1));
    const odo = text(generateReply(request(talk(ODO, 'Who are you?')), 1));
    // The first reply of a conversation greets first.
    expect(brom).toMatch(/^(Hail|Aye, hello), stranger\. Brom\. Gate guard of Eastwatch\.$/);
    expect(odo).toMatch(
      /, my curious friend\. I am Odo, a scholar of the old tongue\. I keep the library of Varn\.$/,
    );
  });

  it('says what it does when asked', () => {
    expect(text(generateReply(request(talk(MIRA, 'What do you do?')), 1))).toMatch(
      /, friend\. I'm a baker\.$/,
    );
  });

  it('knows the lore its instructions give it', () => {
    const reply = text(generateReply(request(talk(BROM, 'When does the gate close?')), 1));
    expect(reply).toContain('The gate closes at dusk');
    expect(text(generateReply(request(talk(BROM, 'Tell me about your brother.')), 1))).toMatch(
      /stranger\. My brother Tam runs the Rusty Nail inn\.$/,
    );
  });

  it('moves on to lore it has not said yet', () => {
    const messages: ChatCompletionMessageParam[] = [
      {
        role: 'system',
        content: 'You are Vela. The river floods every spring. The river bridge was built by dwarves.',
      },
      { role: 'user', content: 'Tell me about the river.' },
      { role: 'assistant', content: 'The river floods every spring.' },
      { role: 'user', content: 'What else about the river?' },
    ];
    expect(text(generateReply(request(messages), 1))).toContain('The river bridge was built by dwarves.');
  });

  it('remembers the name the player gave', () => {
    const messages: ChatCompletionMessageParam[] = [
      { role: 'system', content: MIRA },
      { role: 'user', content: 'My name is Aria.' },
      { role: 'assistant', content: 'Aria, is it?' },
      { role: 'user', content: 'Goodbye!' },
    ];
    expect(text(generateReply(request(messages), 1))).toContain('Aria');
  });

  it('opens the conversation when there is no player line yet', () => {
    const reply = text(generateReply(request([{ role: 'developer', content: MIRA }]), 1));
    expect(reply).toContain('Mira');
  });
});

describe('conversation', () => {
  it("refers to the player's words, with perspective swapped", () => {
    expect(text(generateReply(request(talk(MIRA, 'Have you seen my lost goat?')), 1))).toMatch(
      /your lost goat/i,
    );
    expect(text(generateReply(request(talk(ODO, 'What do you know about dragons?')), 1))).toMatch(/dragons/i);
  });

  it('answers questions differently from statements about the same thing', () => {
    const question = text(generateReply(request(talk(MIRA, 'What about the old tower?')), 3));
    const statement = text(generateReply(request(talk(MIRA, 'I climbed the old tower.')), 3));
    expect(question).toMatch(/the old tower/i);
    expect(statement).toMatch(/the old tower/i);
    expect(question).not.toBe(statement);
  });

  it('handles thanks and farewells without echoing them as topics', () => {
    expect(text(generateReply(request(talk(MIRA, 'Thanks for the help!')), 1))).not.toMatch(/help/i);
    expect(text(generateReply(request(talk(BROM, 'Goodbye!')), 1))).toMatch(/^(Go on, then\.|Move along\.)$/);
  });
});

describe('tool calls', () => {
  it('calls a tool when the player asks for what it offers, matching the enum from their words', () => {
    const reply = generateReply(
      request(talk(BROM, 'Could you unlock the south gate, please?'), { tools: TOOLS }),
      1,
    );
    expect(calls(reply)).toEqual([{ name: 'open_gate', args: { gate: 'south' } }]);
  });

  it('fills every required field: strings from the noun after the verb, numbers from words', () => {
    const [call] = calls(
      generateReply(request(talk(BROM, 'Give me two healing potions.'), { tools: TOOLS }), 1),
    );
    expect(call).toEqual({ name: 'give_item', args: { item: 'healing potions', quantity: 2 } });
  });

  it('falls back to the schema for what the line does not say', () => {
    const [call] = calls(
      generateReply(
        request(talk(BROM, 'Change your mood, please.'), { tools: TOOLS, tool_choice: 'required' }),
        1,
      ),
    );
    expect(call).toEqual({ name: 'set_mood', args: { mood: 'friendly' } });
  });

  it('takes quoted text and nested objects from the schema', () => {
    const tool = {
      type: 'function' as const,
      function: {
        name: 'write_letter',
        description: 'Write a letter for the player.',
        parameters: {
          type: 'object',
          properties: {
            text: { type: 'string' },
            seal: {
              type: 'object',
              properties: { color: { type: 'string', enum: ['red', 'black'] } },
              required: ['color'],
            },
            copies: { type: ['integer', 'null'] },
          },
          required: ['text', 'seal', 'copies'],
        },
      },
    };
    const [call] = calls(
      generateReply(
        request(talk(ODO, 'Write a letter saying "meet me at dawn" with a black seal'), { tools: [tool] }),
        1,
      ),
    );
    expect(call).toEqual({
      name: 'write_letter',
      args: { text: 'meet me at dawn', seal: { color: 'black' }, copies: 1 },
    });
  });

  it('never calls a tool for small talk', () => {
    for (const line of [
      'Hello!',
      'Nice gate you have there.',
      'How are you?',
      'What do you know about the gate?',
      'I like the weather.',
    ]) {
      expect(generateReply(request(talk(BROM, line), { tools: TOOLS }), 1).kind).toBe('text');
    }
  });

  it('honours tool_choice none, required and a named function', () => {
    const askGate = talk(BROM, 'Open the north gate!');
    expect(generateReply(request(askGate, { tools: TOOLS, tool_choice: 'none' }), 1).kind).toBe('text');
    expect(
      calls(generateReply(request(talk(BROM, 'Lovely day.'), { tools: TOOLS, tool_choice: 'required' }), 1)),
    ).toHaveLength(1);
    const named = { type: 'function', function: { name: 'set_mood' } } as const;
    expect(calls(generateReply(request(askGate, { tools: TOOLS, tool_choice: named }), 1))).toEqual([
      { name: 'set_mood', args: { mood: 'friendly' } },
    ]);
  });

  it('honours allowed_tools', () => {
    const choice = {
      type: 'allowed_tools' as const,
      allowed_tools: {
        mode: 'auto' as const,
        tools: [{ type: 'function' as const, function: { name: 'give_item' } }],
      },
    } satisfies ChatCompletionToolChoiceOption;
    expect(
      generateReply(request(talk(BROM, 'Open the north gate!'), { tools: TOOLS, tool_choice: choice }), 1)
        .kind,
    ).toBe('text');
  });

  it('calls two tools in parallel when asked for two things, each with its own arguments', () => {
    const line = 'Open the east gate and give me three arrows.';
    expect(calls(generateReply(request(talk(BROM, line), { tools: TOOLS }), 1))).toEqual([
      { name: 'open_gate', args: { gate: 'east' } },
      { name: 'give_item', args: { item: 'arrows', quantity: 3 } },
    ]);
    expect(
      calls(generateReply(request(talk(BROM, line), { tools: TOOLS, parallel_tool_calls: false }), 1)),
    ).toHaveLength(1);
  });

  it('does not call two tools for one request they both match', () => {
    const sell = {
      ...GIVE_ITEM,
      function: { ...GIVE_ITEM.function, name: 'sell_item', description: 'Sell an item to the player.' },
    };
    const buy = {
      ...GIVE_ITEM,
      function: { ...GIVE_ITEM.function, name: 'buy_item', description: 'Buy an item from the player.' },
    };
    expect(
      calls(generateReply(request(talk(MIRA, 'I want to buy a loaf of bread.'), { tools: [sell, buy] }), 1)),
    ).toHaveLength(1);
  });
});

describe('after tool results', () => {
  function afterResult(output: string, extra: Partial<ChatCompletionCreateParams> = {}) {
    const messages: ChatCompletionMessageParam[] = [
      ...talk(BROM, 'Open the north gate.'),
      {
        role: 'assistant',
        content: null,
        tool_calls: [
          { id: 'call_a', type: 'function', function: { name: 'open_gate', arguments: '{"gate":"north"}' } },
        ],
      },
      { role: 'tool', tool_call_id: 'call_a', content: output },
    ];
    return generateReply(request(messages, { tools: [OPEN_GATE, SET_MOOD], ...extra }), 1);
  }

  it('reports success in text, saying what was done', () => {
    expect(text(afterResult('{"ok":true}'))).toMatch(/^(Done|There)\. I've opened the north gate\.$/);
    expect(text(afterResult('The gate creaks open.'))).toMatch(/The gate creaks open\.$/);
  });

  it('reports a refusal with its reason', () => {
    expect(text(afterResult('{"ok":false,"error":"Not enough gold."}'))).toMatch(
      /^(No|Can't)\. I couldn't open the north gate: not enough gold\.$/,
    );
    expect(text(afterResult('Error: the captain forbids it'))).toContain('the captain forbids it');
  });

  it('reads a result whose yes/no fields all say no as a refusal, whatever they are called', () => {
    const refused = text(
      afterResult('{"opened":false,"reason":"The gate stays shut from dusk until the dawn bell."}'),
    );
    expect(refused).toContain("couldn't open the north gate");
    expect(refused).toContain('the gate stays shut from dusk until the dawn bell');
    expect(text(afterResult('{"opened":true,"sold":false}'))).not.toContain("couldn't");
  });

  it('does not call the same tool again in the same turn, even when forced', () => {
    const named = { type: 'function', function: { name: 'open_gate' } } as const;
    expect(afterResult('{"ok":true}', { tool_choice: named }).kind).toBe('text');
    expect(calls(afterResult('{"ok":true}', { tool_choice: 'required' }))).toEqual([
      { name: 'set_mood', args: { mood: 'friendly' } },
    ]);
  });

  it('speaks in persona', () => {
    const messages: ChatCompletionMessageParam[] = [
      ...talk(MIRA, 'Give me a honey loaf.'),
      {
        role: 'assistant',
        content: null,
        tool_calls: [
          {
            id: 'call_b',
            type: 'function',
            function: { name: 'give_item', arguments: '{"item":"honey loaf","quantity":1}' },
          },
        ],
      },
      { role: 'tool', tool_call_id: 'call_b', content: '{"ok":true}' },
    ];
    expect(text(generateReply(request(messages, { tools: [GIVE_ITEM] }), 1))).toMatch(
      /^(All done!|There you go!) I've given you the honey loaf\./,
    );
  });
});

describe('in character (issue #21)', () => {
  const SELL: ChatCompletionCreateParams['tools'] = [
    {
      type: 'function',
      function: {
        name: 'complete_sale',
        description: 'Sell one item to the player when they want to buy it.',
        parameters: {
          type: 'object',
          properties: { item: { type: 'string', enum: ['lantern', 'rope'] } },
          required: ['item'],
        },
      },
    },
  ];
  const TILDA =
    'You are Tilda, a friendly merchant with a stall on the market square. My stall sells a lantern for 12 coins and a coil of rope for 4 coins.';

  it('never fires a tool for a question about it, only for a request', () => {
    const ask = (line: string) => generateReply(request(talk(TILDA, line), { tools: SELL }), 1);
    expect(ask('Do you check my coins before you sell?').kind).toBe('text');
    expect(calls(ask('I want to buy the lantern.'))).toEqual([
      { name: 'complete_sale', args: { item: 'lantern' } },
    ]);
  });

  it('never sells what a fact says is sold, and says so', () => {
    const messages = talk(`${TILDA}\n\nFacts: lantern: sold to the traveller`, "I'll buy the lantern.");
    const reply = text(generateReply(request(messages, { tools: SELL }), 1));
    expect(reply).toMatch(/sold to you/);
    expect(
      text(generateReply(request(talk(`${TILDA}\n\nFacts: lantern: sold`, 'What do you sell?')), 1)),
    ).not.toMatch(/lantern/);
  });

  it('greets on the first turn only, and does not repeat a sentence it said', () => {
    const first = text(generateReply(request(talk(BROM, 'When does the gate close?')), 1));
    expect(first).toMatch(/^(Hail|Aye, hello), stranger\./);
    const messages: ChatCompletionMessageParam[] = [
      ...talk(BROM, 'When does the gate close?'),
      { role: 'assistant', content: first },
      { role: 'user', content: 'When does the gate close, I said?' },
    ];
    const second = text(generateReply(request(messages), 1));
    expect(second).not.toMatch(/^(Hail|Aye, hello)/);
    for (const sentence of second.split(/(?<=\.)\s+/)) expect(first).not.toContain(sentence);
  });

  it('never speaks its instructions about the game', () => {
    const instructions = `${TILDA} Call complete_sale when the player wants to buy. The game says whether the sale happened.`;
    for (const line of ['Hello!', 'Will it happen?', 'What do you sell?', 'Any news?'])
      expect(text(generateReply(request(talk(instructions, line)), 1))).not.toMatch(
        /game|player|complete_sale/i,
      );
  });
});

describe('answering what the NPC asked for', () => {
  const CHECK_PASSWORD = {
    type: 'function' as const,
    function: {
      name: 'check_password',
      description: 'Check the night password.',
      parameters: {
        type: 'object',
        properties: {
          password: { type: 'string', description: 'The password the player told you, as they said it.' },
        },
        required: ['password'],
      },
    },
  };
  const asked = (line: string) =>
    request(
      [
        { role: 'system', content: BROM },
        { role: 'user', content: 'Let me through the gate.' },
        { role: 'assistant', content: 'Password?' },
        { role: 'user', content: line },
      ],
      { tools: [CHECK_PASSWORD] },
    );

  it('takes a short answer as the value asked for', () => {
    expect(calls(generateReply(asked("It's ember."), 1))).toEqual([
      { name: 'check_password', args: { password: 'ember' } },
    ]);
  });

  it.each(['Thank you, Brom.', 'Goodbye.', 'Hello there.'])('never takes «%s» for it', (line) => {
    expect(generateReply(asked(line), 1).kind).toBe('text');
  });
});
