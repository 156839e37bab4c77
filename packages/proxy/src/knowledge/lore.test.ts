import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { makePdf } from '../../../../test/support/pdf.js';
import { createStore, type Store } from '../store/index.js';
import { indexLore, loreStoreId } from './lore.js';
import { DEFAULT_PDF_LIMITS } from './pdf.js';
import { searchKnowledge } from './search.js';
import { Knowledge } from './service.js';

describe('indexLore', () => {
  let folder: string;
  let store: Store;
  let knowledge: Knowledge;

  beforeAll(async () => {
    // One database for the suite: opening PGlite costs seconds.
    store = await createStore();
    knowledge = new Knowledge(store.database(), {
      maxFileBytes: 1 << 20,
      maxFilesPerPlayer: 0,
      maxBytesPerPlayer: 0,
      embeddingModel: undefined,
      pdf: DEFAULT_PDF_LIMITS,
    });
  });
  afterAll(() => store.close());
  beforeEach(async () => {
    folder = await mkdtemp(join(tmpdir(), 'parley-lore-'));
  });
  afterEach(async () => {
    await knowledge.indexer.idle();
    await rm(folder, { recursive: true, force: true });
  });

  const search = async (query: string) =>
    (await searchKnowledge(store.database(), 'any-player', [loreStoreId('library')], query)).map(
      (result) => `${result.filename}: ${result.content[0]!.text}`,
    );
  const index = async (folders = [{ name: 'library', path: folder }]) => {
    const reports = await indexLore(knowledge, folders);
    await knowledge.indexer.idle();
    return reports;
  };

  it('indexes a folder once, then only what changed; every player finds it, none owns it', async () => {
    await writeFile(
      join(folder, 'chronicle.md'),
      '# Chronicle\n\nThe watchtower lantern burned moonwick oil.',
    );
    await mkdir(join(folder, 'scrolls'));
    await writeFile(join(folder, 'scrolls', 'notes.pdf'), makePdf([['The heron seal is silver.']]));
    await writeFile(join(folder, 'tool.exe'), 'MZ');
    await writeFile(join(folder, '.DS_Store'), 'junk');

    const [first] = await index();
    expect(first).toMatchObject({
      vectorStoreId: 'vs_lore_library',
      indexed: ['chronicle.md', 'scrolls/notes.pdf'],
      unchanged: [],
      removed: [],
      skipped: [{ path: 'tool.exe', reason: expect.stringMatching(/not supported/) }],
    });
    expect(await search('moonwick oil')).toEqual([
      'chronicle.md: # Chronicle\n\nThe watchtower lantern burned moonwick oil.',
    ]);
    expect(await search('heron seal')).toEqual(['notes.pdf: The heron seal is silver.']);
    const files = (
      await store
        .database()
        .query<{ id: string; owner: string }>('SELECT id, owner FROM parley_files ORDER BY filename')
    ).rows;
    expect(files.map((file) => file.owner)).toEqual(['parley:game', 'parley:game']);

    // A restart with nothing changed indexes nothing; a changed file is indexed again under the same id.
    const [again] = await index();
    expect(again).toMatchObject({ indexed: [], unchanged: ['chronicle.md', 'scrolls/notes.pdf'] });
    await writeFile(join(folder, 'chronicle.md'), '# Chronicle\n\nThe lantern now burns whale oil.');
    const [changed] = await index();
    expect(changed).toMatchObject({ indexed: ['chronicle.md'], unchanged: ['scrolls/notes.pdf'] });
    expect(await search('moonwick')).toEqual([]);
    expect(await search('whale oil')).toHaveLength(1);
    const ids = (
      await store.database().query<{ id: string }>('SELECT id FROM parley_files ORDER BY filename')
    ).rows;
    expect(ids).toEqual(files.map(({ id }) => ({ id })));

    // A file gone from the folder leaves the store; a folder gone from the policy takes its store along.
    await rm(join(folder, 'scrolls', 'notes.pdf'));
    const [removed] = await index();
    expect(removed).toMatchObject({ removed: ['scrolls/notes.pdf'], unchanged: ['chronicle.md'] });
    expect(await search('heron')).toEqual([]);
    await index([]);
    expect(await knowledge.store.getVectorStore(['parley:game'], 'vs_lore_library')).toBeUndefined();
    expect((await store.database().query('SELECT id FROM parley_files')).rows).toEqual([]);
  });

  it("reads the demo's library: the chronicle and the keepers' ledger", async () => {
    const library = join(import.meta.dirname, '../../../../demo-game/lore/library');
    const [report] = await index([{ name: 'library', path: library }]);
    expect(report).toMatchObject({ indexed: ['chronicle.md', 'keepers-ledger.pdf'], skipped: [] });
    const [best] = await searchKnowledge(
      store.database(),
      'player',
      [loreStoreId('library')],
      'What oil lit the lantern of the old watchtower?',
    );
    expect(best?.filename).toBe('chronicle.md');
    expect(best?.content[0]?.text).toContain('moonwick oil from the marsh at Hollow Fen');
    expect(await search('Tobin Marsh last keeper')).toContainEqual(
      expect.stringMatching(/^keepers-ledger\.pdf: /),
    );
  });

  it('a folder that cannot be read is left out with a warning; the others are indexed', async () => {
    await writeFile(join(folder, 'notes.md'), 'The ferry runs at dawn.');
    const warnings: string[] = [];
    const log = { info: () => {}, warn: (message: string) => warnings.push(message) };
    const reports = await indexLore(
      knowledge,
      [
        { name: 'gone', path: join(folder, 'missing') },
        { name: 'library', path: folder },
      ],
      log,
    );
    await knowledge.indexer.idle();
    expect(reports.map((report) => report.name)).toEqual(['library']);
    expect(warnings).toEqual(['lore folder not indexed by this instance']);
    expect(await search('ferry')).toHaveLength(1);
    await index([]);
  });
});
