import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { defaultPolicy, loadPolicy } from './policy.js';

function policyFile(content: unknown): string {
  const path = join(mkdtempSync(join(tmpdir(), 'parley-policy-')), 'parley.json');
  writeFileSync(path, JSON.stringify(content));
  return path;
}

describe('loadPolicy', () => {
  it('reads a file over the defaults, game assistants included', () => {
    const policy = loadPolicy(
      policyFile({
        endpoints: ['runs.create', 'chat.completions'],
        maxMessageChars: 200,
        assistants: [
          {
            id: 'asst_brom',
            name: 'Brom',
            instructions: 'A smith.',
            tools: [{ type: 'function', function: { name: 'sell' } }],
          },
        ],
      }),
      'extra-model',
    );
    expect([...policy.endpoints]).toEqual(['runs.create', 'chat.completions']);
    expect(policy.maxMessageChars).toBe(200);
    expect(policy.maxOutputTokens).toBe(defaultPolicy().maxOutputTokens);
    expect(policy.models.has('extra-model')).toBe(true);
    expect(policy.assistants).toEqual([
      {
        id: 'asst_brom',
        name: 'Brom',
        instructions: 'A smith.',
        tools: [{ type: 'function', function: { name: 'sell' } }],
      },
    ]);
  });

  it.each([
    [
      'an unknown field',
      { maxTokens: 5 },
      /PARLEY_CONFIG: .*Unrecognized request argument supplied: maxTokens/,
    ],
    [
      'an unknown endpoint',
      { endpoints: ['runs.delete'] },
      /'endpoints\[0\]': expected one of 'assistants\.create'/,
    ],
    ['a wrong type', { maxOutputTokens: '5' }, /'maxOutputTokens': expected a number, but got a string/],
    [
      'a bad assistant id',
      { assistants: [{ id: 'brom', name: 'B', instructions: '' }] },
      /'assistants\[0\]\.id'/,
    ],
    ['a lore name that cannot be an id', { lore: { 'The Library': '.' } }, /'lore\.The Library'/],
    [
      'a lore folder that is not there',
      { lore: { library: 'nowhere' } },
      /lore\.library: .*nowhere is not a folder/,
    ],
    [
      'a missing assistant name',
      { assistants: [{ id: 'asst_b', instructions: '' }] },
      /'assistants\[0\]\.name'/,
    ],
  ])('stops at start-up on %s, naming the field', (_name, content, message) => {
    expect(() => loadPolicy(policyFile(content))).toThrow(message);
  });

  it('resolves lore folders from the policy file, and takes tool_resources on game assistants', () => {
    const path = policyFile({
      lore: { library: 'lore/library' },
      assistants: [
        {
          id: 'asst_odo',
          name: 'Odo',
          instructions: 'A scholar.',
          tools: [{ type: 'file_search' }],
          tool_resources: { file_search: { vector_store_ids: ['vs_lore_library'] } },
        },
      ],
    });
    mkdirSync(join(dirname(path), 'lore', 'library'), { recursive: true });
    const policy = loadPolicy(path);
    expect(policy.lore).toEqual([{ name: 'library', path: join(dirname(path), 'lore', 'library') }]);
    expect(policy.assistants[0]?.tool_resources).toEqual({
      file_search: { vector_store_ids: ['vs_lore_library'] },
    });
    expect(defaultPolicy().lore).toEqual([]);
  });
});
