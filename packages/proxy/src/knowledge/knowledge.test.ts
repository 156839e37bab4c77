import { describe, expect, it } from 'vitest';
import { postgresAvailable, startPostgres } from '../../../../test/support/postgres.js';
import { createStore, type Store } from '../store/index.js';
import { estimateTokens } from '../tokens.js';
import { chunkText } from './chunk.js';
import { extractText } from './parse.js';
import { DEFAULT_PDF_LIMITS } from './pdf.js';
import { matches, searchKnowledge } from './search.js';
import { Knowledge } from './service.js';
import { checkFilename, sniff } from './sniff.js';

const bytes = (text: string) => new TextEncoder().encode(text);

describe('chunkText', () => {
  // Every word unique, so where a chunk starts in the previous one can be told.
  const words = Array.from({ length: 3000 }, (_, i) => `w${i}`).join(' ');

  it('cuts into chunks of at most the size, each starting about the overlap before the last ended', () => {
    const chunks = chunkText(words, { maxTokens: 800, overlapTokens: 400 });
    expect(chunks.length).toBeGreaterThan(3);
    for (const chunk of chunks) expect(estimateTokens(chunk)).toBeLessThanOrEqual(800);
    for (let i = 1; i < chunks.length; i++) {
      const previous = chunks[i - 1]!;
      const first = chunks[i]!.split(' ')[0]!;
      const start = previous.split(' ').indexOf(first);
      expect(start).toBeGreaterThan(0);
      const overlap = estimateTokens(previous.split(' ').slice(start).join(' '));
      expect(overlap).toBeLessThanOrEqual(400);
      expect(overlap).toBeGreaterThan(390);
    }
    expect(chunks.at(-1)!.endsWith('w2999')).toBe(true);
  });

  it('without overlap, the chunks put together are the text', () => {
    const chunks = chunkText(words, { maxTokens: 100, overlapTokens: 0 });
    expect(chunks.join(' ')).toBe(words);
  });

  it('always moves forward: a word longer than a chunk is cut, whitespace has no chunks', () => {
    const giant = 'x'.repeat(10_000);
    const chunks = chunkText(`a ${giant} b`, { maxTokens: 100, overlapTokens: 50 });
    expect(chunks.join('')).toContain('b');
    for (const chunk of chunks) expect(estimateTokens(chunk)).toBeLessThanOrEqual(100);
    expect(chunkText(' \n\t ', { maxTokens: 100, overlapTokens: 50 })).toEqual([]);
  });
});

describe('sniff and checkFilename', () => {
  it('takes each supported kind by its bytes', () => {
    expect(sniff(bytes('# Lore'), 'lore.md', '')).toEqual({ kind: 'markdown', mime: 'text/markdown' });
    expect(sniff(bytes('{"a":1}'), 'a.JSON', 'application/json').kind).toBe('json');
    expect(sniff(bytes('<p>x</p>'), 'a.htm', 'text/html').kind).toBe('html');
    expect(sniff(bytes('%PDF-1.7'), 'a.pdf', 'application/pdf').kind).toBe('pdf');
  });

  it.each([
    ['', 'a.md', 'invalid_file'],
    ['hello', 'a.pdf', 'unsupported_file'],
    ['%PDF-1.7', 'a.txt', 'unsupported_file'],
    ['{', 'a.json', 'invalid_file'],
    ['a\u0000b', 'a.txt', 'unsupported_file'],
    ['x', 'a.exe', 'unsupported_file'],
  ])('refuses %j named %s (%s)', (text, name, code) => {
    expect(() => sniff(bytes(text), name, '')).toThrow(expect.objectContaining({ code }));
  });

  it('refuses names that are paths or hold control characters', () => {
    for (const name of ['a/b.md', 'a\\b.md', '..', 'a\nb.md', ' ', 'x'.repeat(256)])
      expect(() => checkFilename(name)).toThrow(expect.objectContaining({ code: 'invalid_file' }));
    expect(() => checkFilename('Chronicle of Varn (2nd ed.).md')).not.toThrow();
  });
});

describe('extractText', () => {
  it('reads HTML as a reader sees it', async () => {
    const html =
      '<html><head><title>T</title><style>p{}</style><script>var a = "<p>";</script></head><body><!-- note --><h1>Odo&#39;s library</h1><p>Books &amp; scrolls&nbsp;&#x263A;</p></body></html>';
    expect(await extractText('html', bytes(html))).toBe("T\nOdo's library\n\nBooks & scrolls ☺");
  });

  it('pretty-prints JSON', async () => {
    expect(await extractText('json', bytes('{"sword":{"price":12}}'))).toBe(
      '{\n  "sword": {\n    "price": 12\n  }\n}',
    );
  });
});

describe('matches (attribute filters)', () => {
  const attributes = { region: 'north', act: 3, secret: false };
  it.each([
    [{ type: 'eq', key: 'region', value: 'north' }, true],
    [{ type: 'ne', key: 'region', value: 'north' }, false],
    [{ type: 'gt', key: 'act', value: 2 }, true],
    [{ type: 'lte', key: 'act', value: 2 }, false],
    [{ type: 'gt', key: 'region', value: 2 }, false],
    [{ type: 'in', key: 'region', value: ['south', 'north'] }, true],
    [{ type: 'nin', key: 'missing', value: ['x'] }, true],
    [{ type: 'eq', key: 'secret', value: false }, true],
    [{ type: 'eq', key: 'missing', value: 'x' }, false],
    [
      {
        type: 'or',
        filters: [
          { type: 'eq', key: 'region', value: 'south' },
          { type: 'and', filters: [{ type: 'gte', key: 'act', value: 3 }] },
        ],
      },
      true,
    ],
  ] as const)('%j → %s', (filter, expected) => {
    expect(matches(filter as never, attributes)).toBe(expected);
  });
});

/** Search over a real store: the same statements must work on PGlite and on PostgreSQL. */
function searchContract(open: () => Promise<{ store: Store; close(): Promise<void> }>): void {
  it('finds the passage, ranks it first, keeps the bytes, and never crosses owners', async () => {
    const { store, close } = await open();
    try {
      const knowledge = new Knowledge(store.database(), {
        maxFileBytes: 1 << 20,
        maxFilesPerPlayer: 10,
        maxBytesPerPlayer: 1 << 20,
        embeddingModel: undefined,
        pdf: DEFAULT_PDF_LIMITS,
      });
      const upload = async (owner: string, name: string, text: string) =>
        (await knowledge.upload(owner, { filename: name, bytes: bytes(text), declaredType: '' })).id;
      const lore = await upload(
        'ann',
        'lore.md',
        'Varn was founded by Queen Ysolde in 412. The heron is her seal.',
      );
      const bread = await upload('ann', 'bread.md', 'Mira bakes rye bread at dawn; the heron steals crumbs.');
      const store1 = await knowledge.createVectorStore(
        'ann',
        { name: 'A', description: null, metadata: {}, expires_after: null },
        [lore, bread],
        undefined,
      );
      await knowledge.indexer.idle();
      const results = await searchKnowledge(store.database(), 'ann', [store1.id], 'who founded Varn', {
        maxResults: 5,
      });
      expect(results[0]).toMatchObject({ file_id: lore, filename: 'lore.md' });
      expect(results.map((result) => result.file_id)).not.toContain(bread);
      const both = await searchKnowledge(store.database(), 'ann', [store1.id], ['heron'], {});
      expect(new Set(both.map((result) => result.file_id))).toEqual(new Set([lore, bread]));
      // Another owner: nothing, as if the store did not exist.
      expect(await searchKnowledge(store.database(), 'bob', [store1.id], 'Varn')).toEqual([]);
      expect(await searchKnowledge(store.database(), 'ann', [store1.id], '   ')).toEqual([]);
      // A query of stop words only matches nothing (and does not fail).
      expect(await searchKnowledge(store.database(), 'ann', [store1.id], 'the of a')).toEqual([]);
      // Symbols a query parser might choke on are just text.
      await expect(
        searchKnowledge(store.database(), 'ann', [store1.id], "Varn's & | ! ( ) <-> :* 'x'"),
      ).resolves.toBeInstanceOf(Array);
      // The bytes come back as they went in.
      expect(new TextDecoder().decode((await knowledge.store.fileSource(lore))?.content)).toContain(
        'Queen Ysolde',
      );
    } finally {
      await close();
    }
  });
}

describe('searchKnowledge on PGlite', () => {
  searchContract(async () => {
    const store = await createStore();
    return { store, close: () => store.close() };
  });
});

const havePostgres = postgresAvailable();
describe.skipIf(!havePostgres)(
  havePostgres
    ? 'searchKnowledge on PostgreSQL'
    : 'searchKnowledge on PostgreSQL (skipped: no PostgreSQL binaries)',
  () => {
    searchContract(async () => {
      const server = await startPostgres();
      const store = await createStore({ databaseUrl: server.url });
      return {
        store,
        close: async () => {
          await store.close();
          await server.stop();
        },
      };
    });
  },
);
