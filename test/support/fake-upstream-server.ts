// Runs the fake upstream as its own process (for benchmarks): prints its base URL on stdout.
// Usage: node test/support/fake-upstream-server.ts [words-per-reply]
import { startFakeUpstream } from './fake-upstream.ts';

const words = Number(process.argv[2] ?? 20);
const fake = await startFakeUpstream({
  defaultText: Array.from({ length: words }, (_, i) => `word${i}`).join(' '),
  record: false,
});
process.stdout.write(`${fake.url}\n`);
process.on('SIGTERM', () => fake.close().then(() => process.exit(0)));
