// Speech benchmark (`pnpm bench speech`, issue #20). Two figures:
//
// 1. Time to first audio: from the moment a reply's first sentence is complete (the kit's `speakTurn`
//    sends its speech request then, while the rest still streams) to the first audio byte back at the
//    client, through the real @parley/dialogue kit, for the offline proxy (eSpeak NG, wav and mp3) and a
//    proxy whose upstream is the fake OpenAI server (test/support/fake-upstream-server.ts).
// 2. Proxy overhead on speech streams: `POST /v1/audio/speech` to the fake upstream directly and through
//    Parley, time to the first audio chunk and to the end, at 1 and 20 concurrent streams.
//
// Every server runs in its own process. It prints figures and asserts nothing: timings on a shared
// two-core machine are not a test.
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createParley, memoryStore } from '@parley/dialogue';
import { createVoice, type SpeechFormat } from '@parley/dialogue/voice';
import { UNLIMITED } from '../support/limits.ts';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..', '..');
const TURNS = Number(process.env['PARLEY_BENCH_SPEECH_TURNS'] ?? 12);
const SENTENCE = 'The smithy is by the river, and the inn is up the hill.';

function startChild(args: string[], env: Record<string, string>, ready: RegExp) {
  return new Promise<{ child: ChildProcess; url: string }>((resolve, reject) => {
    const child = spawn(process.execPath, args, {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout!.on('data', (data: Buffer) => {
      out += data.toString();
      const match = out.match(ready);
      if (match) resolve({ child, url: match[1]! });
    });
    child.stderr!.on('data', (data: Buffer) => {
      err += data.toString();
    });
    child.on('exit', (code) => reject(new Error(`${args.join(' ')} exited ${code}: ${err.slice(-500)}`)));
  });
}

function startProxy(env: Record<string, string>, dataDir: string) {
  return startChild(
    [join(root, 'packages/proxy/dist/cli.js')],
    {
      PORT: '0',
      HOST: '127.0.0.1',
      PARLEY_DATA_DIR: dataDir,
      PARLEY_LOG: 'silent',
      PARLEY_OFFLINE_DELAY_MS: '20',
      OPENAI_API_KEY: '',
      ...UNLIMITED,
      ...env,
    },
    /listening on (http:\S+)/,
  );
}

const percentile = (values: number[], p: number) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;
};
const stats = (values: number[]) =>
  `p50 ${percentile(values, 50).toFixed(1).padStart(7)} ms  p95 ${percentile(values, 95).toFixed(1).padStart(7)} ms  max ${Math.max(
    ...values,
  )
    .toFixed(1)
    .padStart(7)} ms`;

/**
 * Talks to an NPC `TURNS` times through the kit and speaks each reply with `speakTurn`: the first clip's
 * time from its sentence's end to its first audio byte, and the clip's bytes.
 */
async function firstAudio(url: string, format: SpeechFormat): Promise<{ ms: number[]; bytes: number[] }> {
  const parley = createParley({ url, store: memoryStore() });
  const voice = createVoice({ url, format });
  const npc = parley.npc({
    id: 'bench-speaker',
    name: 'Brom',
    instructions: 'A gruff gate guard. Answer in two sentences.',
  });
  const conversation = npc.conversation({ key: `bench-${format}-${Math.random()}` });
  const ms: number[] = [];
  const bytes: number[] = [];
  for (let i = 0; i < TURNS; i++) {
    const turn = conversation.say(i % 2 ? 'Is the gate open?' : 'Who are you?');
    let first = true;
    for await (const clip of voice.speakTurn(turn, { voice: 'onyx' })) {
      if (!first) continue;
      first = false;
      ms.push((await clip.firstAudioAt) - clip.requestedAt);
      bytes.push((await clip.audio).byteLength);
    }
    await turn.text.catch(() => {});
  }
  return { ms, bytes };
}

/** One speech stream: ms to the first chunk of audio and to its end. */
async function speech(
  url: string,
  headers: Record<string, string>,
): Promise<{ first: number; total: number }> {
  const started = performance.now();
  const response = await fetch(`${url}/audio/speech`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify({
      model: 'gpt-4o-mini-tts',
      voice: 'onyx',
      input: SENTENCE,
      response_format: 'mp3',
    }),
  });
  if (!response.ok || !response.body)
    throw new Error(`speech answered ${response.status}: ${await response.text()}`);
  const reader = response.body.getReader();
  let first = Number.NaN;
  for (let next = await reader.read(); !next.done; next = await reader.read())
    if (Number.isNaN(first)) first = performance.now() - started;
  return { first, total: performance.now() - started };
}

async function streams(url: string, headers: Record<string, string>, concurrency: number, requests: number) {
  const timings: Array<{ first: number; total: number }> = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < requests) {
        next++;
        timings.push(await speech(url, headers));
      }
    }),
  );
  return { first: timings.map((t) => t.first), total: timings.map((t) => t.total) };
}

async function main() {
  const dataDirs = [
    mkdtempSync(join(tmpdir(), 'parley-bench-speech-')),
    mkdtempSync(join(tmpdir(), 'parley-bench-speech-')),
  ];
  const children: ChildProcess[] = [];
  try {
    // The fake upstream answers chat at once (a short reply of two sentences) and speech in three chunks.
    const fake = await startChild(
      [join(root, 'test/support/fake-upstream-server.ts'), '12', '0', '0'],
      {},
      /(http:\S+)/,
    );
    children.push(fake.child);
    const offline = await startProxy({}, dataDirs[0]!);
    children.push(offline.child);
    const online = await startProxy(
      { OPENAI_BASE_URL: fake.url, OPENAI_API_KEY: 'sk-bench-speech', PARLEY_MODEL: 'fake-model' },
      dataDirs[1]!,
    );
    children.push(online.child);

    console.log(
      `Time to first audio: a reply's first sentence complete → its first audio byte (kit's speakTurn, ${TURNS} turns)`,
    );
    for (const [label, url, format] of [
      ['offline, eSpeak NG, wav', offline.url, 'wav'],
      ['offline, eSpeak NG, mp3', offline.url, 'mp3'],
      ['fake upstream, mp3    ', online.url, 'mp3'],
    ] as const) {
      const { ms, bytes } = await firstAudio(url, format);
      const kb = percentile(bytes, 50) / 1024;
      console.log(`  ${label}  ${stats(ms)}  (first clip ${kb.toFixed(0)} KB)`);
    }

    console.log(
      '\nProxy overhead on speech streams (mp3 from the fake upstream: first chunk at once, two more 5 ms apart)',
    );
    const direct = { url: fake.url, headers: { authorization: 'Bearer sk-bench-speech' } };
    const parley = { url: `${online.url}/v1`, headers: {} };
    for (const [concurrency, requests] of [
      [1, 100],
      [20, 400],
    ] as const) {
      // Warm both paths (connections, JIT) before timing.
      await streams(direct.url, direct.headers, concurrency, concurrency * 2);
      await streams(parley.url, parley.headers, concurrency, concurrency * 2);
      const d = await streams(direct.url, direct.headers, concurrency, requests);
      const p = await streams(parley.url, parley.headers, concurrency, requests);
      console.log(`  ${concurrency} stream(s), ${requests} requests`);
      console.log(`    first audio  direct  ${stats(d.first)}`);
      console.log(`                 Parley  ${stats(p.first)}`);
      console.log(
        `                 added   p50 ${(percentile(p.first, 50) - percentile(d.first, 50)).toFixed(2)} ms  p95 ${(percentile(p.first, 95) - percentile(d.first, 95)).toFixed(2)} ms`,
      );
      console.log(`    whole clip   direct  ${stats(d.total)}`);
      console.log(`                 Parley  ${stats(p.total)}`);
    }
  } finally {
    for (const child of children) child.kill('SIGTERM');
    for (const dir of dataDirs) rmSync(dir, { recursive: true, force: true });
  }
}

await main();
