// Runs the fake upstream as its own process (for benchmarks): prints its base URL on stdout.
// Usage: node test/support/fake-upstream-server.ts [words-per-reply] [first-ms] [gap-ms]
// Requests for PACED_MODEL stream like a model (the first chunk after first-ms, then one every gap-ms);
// every other model is answered at once. Paced replies stamp their first word (see `Pace.stamp`).
import { PACED_MODEL, startFakeUpstream } from './fake-upstream.ts';

const [words = 20, firstMs = 200, gapMs = 20] = process.argv.slice(2).map(Number);
const fake = await startFakeUpstream({
  defaultText: Array.from({ length: words }, (_, i) => `word${i}`).join(' '),
  record: false,
  pace: (body) => (body['model'] === PACED_MODEL ? { firstMs, gapMs, stamp: true } : undefined),
});
process.stdout.write(`${fake.url}\n`);
process.on('SIGTERM', () => fake.close().then(() => process.exit(0)));
