// The offline model in character (issue #21): the dialogue suite's scripted conversations with the four
// Eastwatch villagers, played through a real proxy on the offline model, must keep passing at 95% or more.
// `pnpm bench dialogue` prints the same suite's rate and every failure.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createProxy, loadConfig } from '../../packages/proxy/src/index.ts';
import { CONVERSATIONS, formatReport, runDialogueSuite } from '../bench/dialogue-suite.ts';
import { UNLIMITED } from '../support/limits.ts';

/** The floor below which the offline model no longer feels like a villager (the target of issue #21). */
const FLOOR = 0.95;

type Proxy = Awaited<ReturnType<typeof createProxy>>;
let proxy: Proxy;
let url: string;

beforeAll(async () => {
  proxy = await createProxy(
    loadConfig({
      PORT: '0',
      HOST: '127.0.0.1',
      PARLEY_LOG: 'silent',
      PARLEY_OFFLINE_DELAY_MS: '0',
      OPENAI_API_KEY: '',
      ...UNLIMITED,
    }),
  );
  url = await proxy.listen();
});

afterAll(async () => {
  await proxy?.close();
});

describe('the offline model in the dialogue suite', () => {
  it('has at least 120 player lines across the four villagers', () => {
    const lines = CONVERSATIONS.flatMap((c) => c.lines.map(() => c.npc));
    expect(lines.length).toBeGreaterThanOrEqual(120);
    expect(new Set(lines).size).toBe(4);
  });

  it(`passes at least ${FLOOR * 100}% of the lines`, { timeout: 60_000 }, async () => {
    const result = await runDialogueSuite(url);
    expect(result.rate, formatReport(result)).toBeGreaterThanOrEqual(FLOOR);
  });
});
