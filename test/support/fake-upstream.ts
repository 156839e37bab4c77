import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  type AudioScript,
  answerAudioRequest,
  FAKE_TRANSCRIPT,
  readAudioRequest,
} from '../../packages/proxy/src/audio/test-fake-upstream.ts';

export { FAKE_TRANSCRIPT };

/**
 * A fake OpenAI Chat Completions server (and audio routes, see `enqueueAudio`) for tests: a real HTTP server on loopback that speaks the real
 * wire format (section 3a of the wire reference), quirks included — empty `choices` chunks, keep-alive
 * comments, `obfuscation` padding, fragmented tool-call arguments, the usage chunk — and fails on demand:
 * an HTTP error before the stream, an error object mid-stream, an abrupt close, a stream without
 * `finish_reason`.
 */
export type Script =
  /** `finishReason` replaces `stop` (e.g. `length` for a reply cut at max tokens). */
  | {
      kind: 'text';
      text: string;
      delayMs?: number;
      finishReason?: 'stop' | 'length' | 'content_filter';
      /** Stamps the first word (see `Pace.stamp`): when the request arrived, in monotonic microseconds. */
      receivedUs?: number;
    }
  | { kind: 'tools'; calls: Array<{ name: string; arguments: string }>; delayMs?: number }
  | { kind: 'status'; status: number; body?: unknown; headers?: Record<string, string> }
  | {
      kind: 'midstream-error';
      text: string;
      error: { message: string; type: string; code: string | null };
      delayMs?: number;
    }
  /** `delayMs` paces the chunks so the client is already reading the body when the socket dies. */
  | { kind: 'abrupt'; text: string; delayMs?: number }
  | { kind: 'no-finish'; text: string; delayMs?: number }
  | { kind: 'hang' };

export interface RecordedRequest {
  path: string;
  headers: IncomingMessage['headers'];
  body: Record<string, unknown>;
}

export interface FakeUpstream {
  /** Base URL including `/v1`, as OPENAI_BASE_URL takes it. */
  url: string;
  requests: RecordedRequest[];
  /** Queues scripts answered in order; when the queue is empty, replies echo the last user line. */
  enqueue(...scripts: Script[]): void;
  /**
   * Queues answers of the audio routes (`/audio/speech`, `/audio/transcriptions`, `/audio/translations`);
   * when empty, speech is a few chunks in the asked format and every upload says {@link FAKE_TRANSCRIPT}.
   */
  enqueueAudio(...scripts: AudioScript[]): void;
  /** Sends the rest of the speech answers held after their first chunk. */
  releaseAudio(): void;
  /** Resolves when a request that was aborted by its client has been seen closing. */
  aborted: number;
  /** `performance.now()` at which each aborted request was seen closing, in order. */
  abortTimes: number[];
  close(): Promise<void>;
}

const encoder = (value: unknown) => `data: ${JSON.stringify(value)}\n\n`;

export interface FakeUpstreamOptions {
  /** Reply text when the queue is empty (default: an echo of the last user line). */
  defaultText?: string;
  /** Keep every request (default true; benchmarks turn it off so memory stays flat). */
  record?: boolean;
  /** Called (with `performance.now()`) the moment a request closes before its answer was finished. */
  onAbort?: (at: number, path: string) => void;
  /**
   * Paces default replies like a model (benchmarks): the first chunk after `firstMs`, then one every
   * `gapMs`. Asked per request; `undefined` answers at once.
   */
  pace?: (body: Record<string, unknown>) => Pace | undefined;
  /**
   * Chooses the answer from the request when the queue is empty (`undefined`: the default reply), so that
   * concurrent clients each get theirs whatever the order their requests arrive in.
   */
  respond?: (body: Record<string, unknown>) => Script | undefined;
}

/** The model that the standalone fake upstream (`fake-upstream-server.ts`) answers at a model's pace. */
export const PACED_MODEL = 'fake-paced';

/** How a paced reply streams: time to the first chunk, then between chunks (milliseconds). */
export interface Pace {
  firstMs: number;
  gapMs: number;
  /**
   * Appends ` t<received>_<sent>` to the first word: when the request arrived and when that word was
   * written, in microseconds of the machine's monotonic clock (`process.hrtime`, shared by every process),
   * so a benchmark can tell the upstream's own time from the time spent on the way to and from it.
   */
  stamp?: boolean;
}

/** Microseconds of the monotonic clock that every process on the machine shares. */
export const monotonicUs = (): number => Number(process.hrtime.bigint() / 1000n);

export async function startFakeUpstream(options: FakeUpstreamOptions = {}): Promise<FakeUpstream> {
  const queue: Script[] = [];
  const audioQueue: AudioScript[] = [];
  // Speech answers holding after their first chunk (`hold: true`) until releaseAudio().
  const held: Array<() => void> = [];
  const requests: RecordedRequest[] = [];
  const state = { aborted: 0 };
  const abortTimes: number[] = [];
  let counter = 0;

  const server = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const receivedUs = monotonicUs();
    // The audio routes (speech streamed, transcriptions multipart) as the proxy's own audio fake serves them.
    if (req.url?.includes('/audio/')) {
      const heard = await readAudioRequest(req, Buffer.concat(chunks));
      if (options.record !== false)
        requests.push({ path: heard.path, headers: req.headers, body: heard.json ?? heard.fields ?? {} });
      await answerAudioRequest(heard, res, audioQueue.shift(), () => new Promise((go) => held.push(go)));
      return;
    }
    const raw = Buffer.concat(chunks).toString('utf8');
    const body = raw ? (JSON.parse(raw) as Record<string, unknown>) : {};
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    if (options.record !== false) requests.push({ path, headers: req.headers, body });
    res.on('close', () => {
      if (res.writableFinished) return;
      const at = performance.now();
      state.aborted++;
      abortTimes.push(at);
      options.onAbort?.(at, path);
    });
    if (!path.endsWith('/chat/completions')) {
      res.writeHead(404, { 'content-type': 'application/json' });
      res.end(
        JSON.stringify({
          error: { message: 'Not found', type: 'invalid_request_error', param: null, code: null },
        }),
      );
      return;
    }
    const queued = queue.shift() ?? options.respond?.(body);
    const pace = queued ? undefined : options.pace?.(body);
    const script = queued ?? {
      kind: 'text',
      text: options.defaultText ?? `Fake reply to: ${lastUser(body)}`,
      ...(pace ? { delayMs: pace.gapMs } : {}),
      ...(pace?.stamp ? { receivedUs } : {}),
    };
    if (pace) await sleep(pace.firstMs);
    await answer(script, body, res, ++counter);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/v1`,
    requests,
    enqueue: (...scripts) => queue.push(...scripts),
    enqueueAudio: (...scripts) => audioQueue.push(...scripts),
    releaseAudio: () => {
      for (const go of held.splice(0)) go();
    },
    get aborted() {
      return state.aborted;
    },
    abortTimes,
    close: () =>
      new Promise((resolve) => {
        for (const go of held.splice(0)) go();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function lastUser(body: Record<string, unknown>): string {
  const messages = (body['messages'] as Array<{ role: string; content: unknown }>) ?? [];
  const user = [...messages].reverse().find((m) => m.role === 'user');
  return typeof user?.content === 'string' ? user.content : '';
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function answer(
  script: Script,
  body: Record<string, unknown>,
  res: ServerResponse,
  n: number,
): Promise<void> {
  if (script.kind === 'status') {
    res.writeHead(script.status, { 'content-type': 'application/json', ...script.headers });
    res.end(
      JSON.stringify(
        script.body ?? {
          error: { message: `Fake failure ${script.status}`, type: 'server_error', param: null, code: null },
        },
      ),
    );
    return;
  }
  if (script.kind === 'hang') return; // never answers; the client must time out or abort
  const model = String(body['model'] ?? 'fake-model');
  const base = {
    id: `chatcmpl-fake${n}`,
    object: 'chat.completion.chunk',
    created: 1763800000,
    model,
    system_fingerprint: 'fp_fake',
  };
  const withUsage =
    (body['stream_options'] as { include_usage?: boolean } | undefined)?.include_usage === true;
  const chunk = (delta: Record<string, unknown>, finish: string | null = null) => ({
    ...base,
    obfuscation: 'xQ3',
    choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }],
    ...(withUsage ? { usage: null } : {}),
  });
  const text = 'text' in script ? script.text : '';
  const finishReason = script.kind === 'text' ? (script.finishReason ?? 'stop') : 'stop';

  if (body['stream'] !== true) {
    const message =
      script.kind === 'tools'
        ? {
            role: 'assistant',
            content: null,
            tool_calls: script.calls.map((call, i) => ({
              id: `call_fake${n}_${i}`,
              type: 'function',
              function: call,
            })),
          }
        : { role: 'assistant', content: text, refusal: null };
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(
      JSON.stringify({
        id: base.id,
        object: 'chat.completion',
        created: base.created,
        model,
        choices: [
          {
            index: 0,
            message,
            logprobs: null,
            finish_reason: script.kind === 'tools' ? 'tool_calls' : finishReason,
          },
        ],
        usage: { prompt_tokens: 11, completion_tokens: 7, total_tokens: 18 },
      }),
    );
    return;
  }

  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
  const delay = 'delayMs' in script ? (script.delayMs ?? 0) : 0;
  const write = async (frame: string) => {
    if (res.destroyed) return;
    res.write(frame);
    if (delay > 0) await sleep(delay);
  };
  await write(': keep-alive\n\n');
  // Azure-style content filter chunk with empty choices.
  await write(encoder({ ...base, choices: [], prompt_filter_results: [] }));
  await write(encoder(chunk({ role: 'assistant', content: '', refusal: null })));

  if (script.kind === 'tools') {
    for (const [index, call] of script.calls.entries()) {
      await write(
        encoder(
          chunk({
            tool_calls: [
              {
                index,
                id: `call_fake${n}_${index}`,
                type: 'function',
                function: { name: call.name, arguments: '' },
              },
            ],
          }),
        ),
      );
      // Arguments in small fragments, as real models stream them.
      for (let i = 0; i < call.arguments.length; i += 5) {
        await write(
          encoder(
            chunk({ tool_calls: [{ index, function: { arguments: call.arguments.slice(i, i + 5) } }] }),
          ),
        );
      }
    }
    await write(encoder(chunk({}, 'tool_calls')));
  } else {
    const words = text.match(/\s*\S+/g) ?? [];
    const half = Math.ceil(words.length / 2);
    for (const [i, word] of words.entries()) {
      if (script.kind === 'abrupt' && i === half) {
        res.destroy();
        return;
      }
      if (script.kind === 'midstream-error' && i === half) {
        await write(encoder({ error: script.error }));
        res.end('data: [DONE]\n\n');
        return;
      }
      const stamped =
        i === 0 && script.kind === 'text' && script.receivedUs !== undefined
          ? `${word} t${script.receivedUs}_${monotonicUs()}`
          : word;
      await write(encoder(chunk({ content: stamped })));
    }
    if (script.kind === 'no-finish') {
      res.end('data: [DONE]\n\n');
      return;
    }
    await write(encoder(chunk({}, finishReason)));
  }
  if (withUsage) {
    await write(
      encoder({ ...base, choices: [], usage: { prompt_tokens: 11, completion_tokens: 7, total_tokens: 18 } }),
    );
  }
  res.end('data: [DONE]\n\n');
}
