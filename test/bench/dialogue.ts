// The offline model in character (issue #21): the dialogue suite's scripted conversations with the four
// Eastwatch villagers, played through an in-process proxy on the offline model exactly as the demo plays
// them. Prints the pass rate (target ≥ 95%), the rate measured before the model was reworked, and every
// failing line with its reply and what was wrong.
// Usage: node test/bench/dialogue.ts [seed]
import { createProxy, loadConfig } from '@parley/proxy';
import { UNLIMITED } from '../support/limits.ts';
import { formatReport, runDialogueSuite } from './dialogue-suite.ts';

/** Measured with this suite on the offline model as it was before issue #21's rework (commit 3dbb3fa). */
const BEFORE = { passed: 60, total: 156 };

const proxy = await createProxy(
  loadConfig({
    PORT: '0',
    HOST: '127.0.0.1',
    PARLEY_LOG: 'silent',
    PARLEY_OFFLINE_DELAY_MS: '0',
    OPENAI_API_KEY: '',
    ...(process.argv[2] ? { PARLEY_OFFLINE_SEED: process.argv[2] } : {}),
    ...UNLIMITED,
  }),
);
try {
  const url = await proxy.listen();
  const started = performance.now();
  const result = await runDialogueSuite(url);
  const seconds = (performance.now() - started) / 1000;
  console.log(formatReport(result));
  console.log(
    `before the rework: ${BEFORE.passed}/${BEFORE.total} (${((100 * BEFORE.passed) / BEFORE.total).toFixed(1)}%); ` +
      `now ${(100 * result.rate).toFixed(1)}% (target ≥ 95%), ${result.total} lines in ${seconds.toFixed(1)} s`,
  );
} finally {
  await proxy.close();
}
