// Security overhead benchmark: the latency that identity (session tokens), policy and budgets add to a
// request. In-process proxies on the offline model answer the same requests:
//   baseline — dev mode, every budget off (the limiter has nothing to count against);
//   budgets  — dev mode with budgets on (isolates the limiter's cost from identity's);
//   memory   — session tokens, the default policy, budgets on (in-memory limiter);
//   redis    — the same with budgets shared through Redis (a throwaway redis-server).
// Four in all. Two requests: GET /v1/threads/{id} (identity + policy; budgets are not consulted on reads) and a
// non-streamed POST /v1/chat/completions (identity + policy + moderation + budget reserve and settle).
// Rounds of each proxy are interleaved so drift affects all alike. Prints p50/p99 and the added p50.
// Usage: node test/bench/security.ts [requests-per-proxy]   (targets: ≤ 0.2 ms in memory, ≤ 1 ms with Redis)
import http from 'node:http';
import { createProxy, loadConfig } from '@parley/proxy';
import { UNLIMITED } from '../support/limits.ts';
import { redisAvailable, startRedis } from '../support/redis.ts';

const TOTAL = Number(process.argv[2] ?? 3000);
const WARMUP = 300;
const ROUND = 100;
const SESSION_SECRET = 'bench-session-secret-0123456789abcdefghijklmnop';

type Proxy = Awaited<ReturnType<typeof createProxy>>;
interface Target {
  name: string;
  proxy: Proxy;
  url: string;
  headers: Record<string, string>;
  threadPath: string;
}

const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });

function send(url: string, method: string, headers: Record<string, string>, body?: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const req = http.request(
      url,
      {
        method,
        agent,
        headers: body
          ? { ...headers, 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) }
          : headers,
      },
      (res) => {
        res.resume();
        res.on('end', () => {
          if (res.statusCode !== 200) reject(new Error(`${method} ${url}: HTTP ${res.statusCode}`));
          else resolve(performance.now() - started);
        });
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

async function target(name: string, env: Record<string, string>, auth: 'dev' | 'session'): Promise<Target> {
  const proxy = await createProxy(
    loadConfig({
      PORT: '0',
      HOST: '127.0.0.1',
      PARLEY_LOG: 'silent',
      PARLEY_OFFLINE_DELAY_MS: '0',
      OPENAI_API_KEY: '',
      ...env,
    }),
  );
  const url = await proxy.listen();
  let headers: Record<string, string> = { 'x-parley-player': 'bench' };
  if (auth === 'session') {
    const session = await fetch(`${url}/v1/sessions`, { method: 'POST' }).then(
      (r) => r.json() as Promise<{ token: string }>,
    );
    headers = { authorization: `Bearer ${session.token}` };
  }
  const thread = await fetch(`${url}/v1/threads`, {
    method: 'POST',
    headers: { ...headers, 'content-type': 'application/json' },
    body: '{}',
  }).then((r) => r.json() as Promise<{ id: string }>);
  return { name, proxy, url, headers, threadPath: `/v1/threads/${thread.id}` };
}

const CHAT = JSON.stringify({
  model: 'parley-offline',
  max_completion_tokens: 16,
  messages: [{ role: 'user', content: 'Good morning, guard.' }],
});

const requests = {
  'GET /v1/threads/{id}': (t: Target) => send(`${t.url}${t.threadPath}`, 'GET', t.headers),
  'POST /v1/chat/completions': (t: Target) => send(`${t.url}/v1/chat/completions`, 'POST', t.headers, CHAT),
};

function pct(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

const limitsOn = {
  // Budgets on, and generous enough that the bench is never refused.
  PARLEY_PLAYER_REQUESTS_PER_MINUTE: '1000000',
  PARLEY_PLAYER_TOKENS_PER_MINUTE: '100000000',
  PARLEY_PLAYER_TOKENS_PER_DAY: '1000000000',
  PARLEY_PLAYER_COST_PER_DAY_USD: '100000',
  PARLEY_GLOBAL_TOKENS_PER_MINUTE: '100000000',
  PARLEY_GLOBAL_COST_PER_DAY_USD: '100000',
};
const sessions = { PARLEY_SESSION_SECRET: SESSION_SECRET };

const redis = redisAvailable() ? await startRedis() : undefined;
const targets: Target[] = [
  await target('baseline (dev mode, budgets off)', UNLIMITED, 'dev'),
  await target('dev mode + policy + budgets (memory)', limitsOn, 'dev'),
  await target('sessions + policy + budgets (memory)', { ...limitsOn, ...sessions }, 'session'),
];
if (redis)
  targets.push(
    await target(
      'sessions + policy + budgets (Redis)',
      { ...limitsOn, ...sessions, REDIS_URL: redis.url },
      'session',
    ),
  );
else console.log('(redis-server not found: the Redis row is skipped)');

console.log(`\nSecurity overhead per request: ${TOTAL} requests per proxy and kind, sequential, keep-alive`);
const rows: string[][] = [];
for (const [kind, run] of Object.entries(requests)) {
  const samples = new Map<Target, number[]>(targets.map((t) => [t, []]));
  for (const t of targets) for (let i = 0; i < WARMUP; i++) await run(t);
  for (let done = 0; done < TOTAL; done += ROUND) {
    for (const t of targets) {
      const list = samples.get(t)!;
      for (let i = 0; i < ROUND; i++) list.push(await run(t));
    }
  }
  const base = pct(samples.get(targets[0]!)!, 50);
  for (const t of targets) {
    const list = samples.get(t)!;
    const p50 = pct(list, 50);
    rows.push([
      kind,
      t.name,
      p50.toFixed(3),
      pct(list, 99).toFixed(3),
      t === targets[0] ? '—' : `${p50 - base >= 0 ? '+' : ''}${(p50 - base).toFixed(3)}`,
    ]);
  }
}
const header = ['request', 'proxy', 'p50 ms', 'p99 ms', 'added p50 ms'];
const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
const line = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`;
console.log(line(header));
console.log(`| ${widths.map((w) => '-'.repeat(w)).join(' | ')} |`);
for (const row of rows) console.log(line(row));
console.log('\nTargets: added p50 ≤ 0.2 ms in memory, ≤ 1 ms with Redis.');

for (const t of targets) await t.proxy.close();
agent.destroy();
await redis?.stop();
