// Test-only (not exported from index.ts): a small real HTTP server that speaks the proxy's wire format,
// so the tests exercise fetch, SSE framing and error bodies end to end instead of mocking our modules.
import { createServer, type IncomingHttpHeaders, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  type Assistant,
  type ErrorObject,
  type Message,
  type Run,
  type RunStatus,
  type RunStep,
  SHOWN_CHARACTERS_PARAM,
} from '@parley/protocol';
import { type DialogueError, isDialogueError } from './errors.js';
import type { DialogueEvent, Turn } from './turn.js';

export interface LoggedRequest {
  method: string;
  /** Path and query, e.g. `/v1/assistants?limit=100`. */
  path: string;
  headers: IncomingHttpHeaders;
  body: Record<string, unknown> | undefined;
}

export interface ToolOutput {
  tool_call_id: string;
  output: string;
}

export interface RunContext {
  threadId: string;
  runId: string;
  /** The run object in `status`, merged with `extra`. */
  run(status: RunStatus, extra?: Partial<Run>): Run;
  /**
   * Logs one SSE event (with `id:` counting over the whole run, like the proxy) and writes it to every
   * attached stream. A stream ends after `done`; events sent while none is attached wait in the log.
   */
  send(event: string, data: unknown): void;
  /**
   * Streams `text` as message created → deltas (of `piece` characters) → completed and stores it.
   * `onDelta(n)` runs after the n-th delta (1-based), e.g. to `cut()` there.
   */
  say(text: string, piece?: number, onDelta?: (n: number) => unknown): Promise<void>;
  /** Destroys the sockets of the attached streams mid-body; the run goes on, so a client can resume. */
  cut(): void;
  /**
   * Sends `requires_action` for these calls (`[id, name, arguments]`) and `done`, then resolves with the
   * body's `tool_outputs` of the next `submit_tool_outputs`.
   */
  requireAction(calls: Array<[string, string, string]>): Promise<ToolOutput[]>;
  /** Resolves (each time anew) when the client next asks for this run's `/events`. */
  resumed(): Promise<void>;
  /**
   * Resolves when the client POSTs this run's cancel. The cancel is answered once the script has ended,
   * with the run's last status: 200 and the run as it is, also when it had already finished, as the proxy
   * answers (OpenAI answers that case 400 `invalid_run_state`; a `failures` entry plays it).
   */
  cancelled: Promise<void>;
  /** Resolves when the client closes the first connection. */
  closed: Promise<void>;
}

export type RunScript = (run: RunContext) => Promise<void>;

export interface TestProxy {
  url: string;
  requests: LoggedRequest[];
  assistants: Assistant[];
  threads: Map<string, Message[]>;
  /** Each thread's metadata, as created; a test may add to it, as the proxy adds `parley_memory`. */
  threadMetadata: Map<string, Record<string, string>>;
  /** The steps `GET …/runs/{run}/steps` lists, by run id (the test puts them there). */
  steps: Map<string, RunStep[]>;
  /** Largest page the list endpoints return, to force paging. */
  pageSize: number;
  /** When set, every request needs `Authorization: Bearer <token>`. */
  token: string | undefined;
  /**
   * One-shot failures: the first matching request gets this status, error body and headers, or (with
   * `destroy`) has its socket destroyed, a network error for the client.
   */
  failures: Array<{
    method: string;
    path: RegExp;
    status?: number;
    error?: Partial<ErrorObject>;
    headers?: Record<string, string>;
    destroy?: boolean;
  }>;
  /** How long a cancel takes before the run hears it (and its line is cut); default 0. */
  cancelDelayMs: number;
  /** What a run stream says; default {@link replyScript}. */
  script: RunScript;
  /** Requests matching method and a path regex. */
  calls(method: string, path: RegExp): LoggedRequest[];
  close(): Promise<void>;
}

/** Every event of a turn, in order. */
export async function collect(turn: Turn): Promise<DialogueEvent[]> {
  const events: DialogueEvent[] = [];
  for await (const event of turn) events.push(event);
  return events;
}

/** The DialogueError `promise` rejects with (fails if it resolves or rejects with anything else). */
export async function rejection(promise: Promise<unknown>): Promise<DialogueError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!isDialogueError(error)) throw new Error(`expected a DialogueError, got ${String(error)}`);
  return error;
}

export const REPLY = 'Hail, traveller! Grüße from the Gilded Goose 🐉.';

/** A text reply in the order of openai-wire.md §3b. */
export const replyScript: RunScript = async ({ run, send, say }) => {
  send('thread.run.created', run('queued'));
  send('thread.run.queued', run('queued'));
  send('thread.run.in_progress', run('in_progress'));
  await say(REPLY);
  const usage = { prompt_tokens: 12, completion_tokens: 9, total_tokens: 21 };
  send('thread.run.completed', run('completed', { usage }));
  send('done', '[DONE]');
};

export async function startTestProxy(): Promise<TestProxy> {
  let counter = 0;
  const id = (prefix: string) => `${prefix}${++counter}`;
  const now = () => Math.floor(Date.now() / 1000);
  const cancels = new Map<string, () => void>();
  const runs = new Map<string, ReturnType<typeof createChannel>>();

  const server = createServer(async (req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    let raw = '';
    for await (const chunk of req) raw += chunk;
    const body = raw ? (JSON.parse(raw) as Record<string, unknown>) : undefined;
    const method = req.method ?? 'GET';
    proxy.requests.push({ method, path: url.pathname + url.search, headers: req.headers, body });

    const json = (status: number, value: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(value));
    };
    const fail = (status: number, code: string, message: string) =>
      json(status, { error: { message, type: 'invalid_request_error', param: null, code } });
    const notFound = () => fail(404, 'not_found', `No such object: ${url.pathname}`);

    const failure = proxy.failures.findIndex((f) => f.method === method && f.path.test(url.pathname));
    if (failure >= 0) {
      const [f] = proxy.failures.splice(failure, 1);
      if (f!.destroy) return void req.socket.destroy();
      res.writeHead(f!.status ?? 500, { 'content-type': 'application/json', ...f!.headers });
      return res.end(JSON.stringify({ error: { param: null, type: 'invalid_request_error', ...f!.error } }));
    }
    if (proxy.token && req.headers.authorization !== `Bearer ${proxy.token}`) {
      return fail(401, 'unauthorized', 'Missing or invalid bearer token.');
    }

    const [, , kind, objectId, sub, runId, action] = url.pathname.split('/');
    const route = `${method} ${[kind, objectId && ':id', sub, runId && ':run', action].filter(Boolean).join('/')}`;
    const assistant = proxy.assistants.find((a) => a.id === objectId);
    const messages = objectId ? proxy.threads.get(objectId) : undefined;

    switch (route) {
      case 'GET assistants': {
        return json(200, page([...proxy.assistants].reverse(), url));
      }
      case 'POST assistants': {
        const created = {
          id: id('asst_'),
          object: 'assistant',
          created_at: now(),
          description: null,
        } as Assistant;
        proxy.assistants.push(applyAssistant(created, body ?? {}));
        return json(200, created);
      }
      case 'GET assistants/:id':
        return assistant ? json(200, assistant) : notFound();
      case 'POST assistants/:id':
        return assistant ? json(200, applyAssistant(assistant, body ?? {})) : notFound();
      case 'POST threads': {
        const thread = {
          id: id('thread_'),
          object: 'thread',
          created_at: now(),
          metadata: body?.['metadata'] ?? {},
        };
        proxy.threads.set(thread.id, []);
        proxy.threadMetadata.set(thread.id, { ...thread.metadata });
        return json(200, thread);
      }
      case 'GET threads/:id':
        return messages
          ? json(200, {
              id: objectId,
              object: 'thread',
              created_at: now(),
              metadata: proxy.threadMetadata.get(objectId!) ?? {},
            })
          : notFound();
      case 'DELETE threads/:id':
        if (!messages) return notFound();
        proxy.threads.delete(objectId!);
        return json(200, { id: objectId, object: 'thread.deleted', deleted: true });
      case 'POST threads/:id/messages': {
        if (!messages) return notFound();
        const message = makeMessage(id('msg_'), objectId!, 'user', String(body?.['content']), now());
        message.metadata = (body?.['metadata'] as Message['metadata']) ?? {};
        messages.push(message);
        return json(200, message);
      }
      case 'GET threads/:id/messages': {
        if (!messages) return notFound();
        const ordered = url.searchParams.get('order') === 'asc' ? [...messages] : [...messages].reverse();
        return json(200, page(ordered, url));
      }
      case 'POST threads/:id/runs/:run/cancel': {
        const channel = runs.get(runId!);
        if (!channel) return notFound();
        if (proxy.cancelDelayMs) await new Promise((r) => setTimeout(r, proxy.cancelDelayMs));
        cancels.get(runId!)?.();
        await channel.ended;
        // Like the proxy: the run's last line is stored as the player saw it (`shown_characters`).
        const shown = body?.[SHOWN_CHARACTERS_PARAM];
        const line = messages?.findLast((m) => m.role === 'assistant');
        const part = line?.content[0];
        if (typeof shown === 'number' && line && part?.type === 'text' && part.text.value.length > shown) {
          part.text.value = part.text.value.slice(0, shown);
          line.status = 'incomplete';
          line.incomplete_details = { reason: 'run_cancelled' };
        }
        const terminal = /^(completed|incomplete|failed|cancelled|expired)$/.test(channel.status);
        return json(200, {
          id: runId,
          object: 'thread.run',
          status: terminal ? channel.status : 'cancelling',
        });
      }
      case 'POST threads/:id/runs/:run/submit_tool_outputs': {
        const channel = runs.get(runId!);
        if (!channel) return notFound();
        if (body?.['stream'] !== true) return fail(400, 'invalid_value', 'stream must be true');
        // Like the proxy: the new stream starts after what the log holds now.
        channel.attach(res, channel.log.length);
        channel.submitted.shift()?.(body['tool_outputs'] as ToolOutput[]);
        return;
      }
      case 'GET threads/:id/runs/:run/steps': {
        const steps = proxy.steps.get(runId!);
        return steps ? json(200, page(steps, url)) : notFound();
      }
      case 'GET threads/:id/runs/:run/events': {
        const channel = runs.get(runId!);
        if (!channel) return notFound();
        channel.attach(res, Number(url.searchParams.get('after') ?? req.headers['last-event-id'] ?? 0), true);
        for (const wake of channel.resumes.splice(0)) wake();
        return;
      }
      case 'POST threads/:id/runs': {
        if (!messages) return notFound();
        if (body?.['stream'] !== true) return fail(400, 'invalid_value', 'stream must be true');
        const assistantId = String(body['assistant_id']);
        if (!proxy.assistants.some((a) => a.id === assistantId)) return notFound();
        const run = id('run_');
        // Like the proxy, the run adds the player's line (before anything it says), and only when it starts.
        const added = (body['additional_messages'] as Array<{ role: string; content: string }> | null) ?? [];
        for (const { role, content } of added) {
          messages.push(makeMessage(id('msg_'), objectId!, role as 'user', content, now()));
        }
        const channel = createChannel();
        runs.set(run, channel);
        channel.attach(res, 0);
        const { send } = channel;
        const context: RunContext = {
          threadId: objectId!,
          runId: run,
          run: (status, extra) =>
            ({
              id: run,
              object: 'thread.run',
              created_at: now(),
              thread_id: objectId,
              assistant_id: assistantId,
              status,
              required_action: null,
              last_error: null,
              usage: null,
              ...extra,
            }) as Run,
          send,
          cut: channel.cut,
          async say(text, piece = 4, onDelta) {
            const messageId = id('msg_');
            const message = makeMessage(messageId, objectId!, 'assistant', '', now());
            send('thread.message.created', message);
            for (let i = 0; i < text.length; i += piece) {
              const value = text.slice(i, i + piece);
              send('thread.message.delta', {
                id: messageId,
                object: 'thread.message.delta',
                delta: { content: [{ index: 0, type: 'text', text: { value, annotations: [] } }] },
              });
              await onDelta?.(i / piece + 1);
              await new Promise((r) => setTimeout(r, 1));
            }
            const done = makeMessage(messageId, objectId!, 'assistant', text, now());
            messages.push(done);
            send('thread.message.completed', done);
          },
          requireAction(calls) {
            const outputs = new Promise<ToolOutput[]>((resolve) => channel.submitted.push(resolve));
            const tool_calls = calls.map(([id, name, args]) => ({
              id,
              type: 'function',
              function: { name, arguments: args },
            }));
            send(
              'thread.run.requires_action',
              context.run('requires_action', {
                required_action: { type: 'submit_tool_outputs', submit_tool_outputs: { tool_calls } },
              } as Partial<Run>),
            );
            send('done', '[DONE]');
            return outputs;
          },
          resumed: () => new Promise<void>((resolve) => channel.resumes.push(resolve)),
          cancelled: new Promise<void>((resolve) => cancels.set(run, resolve)),
          closed: new Promise<void>((resolve) => res.on('close', () => resolve())),
        };
        try {
          await proxy.script(context);
        } finally {
          channel.finish();
        }
        return;
      }
      default:
        return fail(404, 'not_found', `Unknown route ${route}`);
    }
  });

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  const proxy: TestProxy = {
    url: `http://127.0.0.1:${port}`,
    requests: [],
    assistants: [],
    threads: new Map(),
    threadMetadata: new Map(),
    steps: new Map(),
    pageSize: 100,
    token: undefined,
    failures: [],
    cancelDelayMs: 0,
    script: replyScript,
    calls: (method, path) => proxy.requests.filter((r) => r.method === method && path.test(r.path)),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };

  function page<T extends { id: string }>(items: T[], url: URL) {
    const limit = Math.min(Number(url.searchParams.get('limit') ?? 20), proxy.pageSize);
    const after = url.searchParams.get('after');
    const start = after ? items.findIndex((item) => item.id === after) + 1 : 0;
    const data = items.slice(start, start + limit);
    return {
      object: 'list',
      data,
      first_id: data[0]?.id ?? null,
      last_id: data.at(-1)?.id ?? null,
      has_more: start + limit < items.length,
    };
  }

  return proxy;
}

/**
 * A run's event log, read by any number of streams from any position, like the proxy's RunChannel: a
 * stream gets the events after its position, then live ones, and ends after the next `done`.
 */
function createChannel() {
  const log: Array<{ frame: string; done: boolean }> = [];
  type Reader = { res: ServerResponse; position: number; resumed: boolean };
  const readers = new Set<Reader>();
  let finished = false;
  let end = () => {};
  const flush = (reader: Reader) => {
    while (reader.position < log.length) {
      const entry = log[reader.position++]!;
      reader.res.write(entry.frame);
      if (entry.done) {
        readers.delete(reader);
        reader.res.end();
        return;
      }
    }
    // The script is over without a `done` left to send. A resumed stream ends like the proxy's when
    // nothing is producing (a lone `done`); the others just end, as the script chose (a dropped stream).
    if (finished) {
      readers.delete(reader);
      reader.res.end(reader.resumed ? 'event: done\ndata: [DONE]\n\n' : undefined);
    }
  };
  const channel = {
    log,
    /** The status of the last run object sent. */
    status: 'queued',
    /** Resolves when the script has ended. */
    ended: new Promise<void>((resolve) => {
      end = resolve;
    }),
    submitted: [] as Array<(outputs: ToolOutput[]) => void>,
    resumes: [] as Array<() => void>,
    attach(res: ServerResponse, after: number, resumed = false) {
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
      res.flushHeaders();
      const reader = { res, position: Math.min(after, log.length), resumed };
      readers.add(reader);
      res.on('close', () => readers.delete(reader));
      flush(reader);
    },
    send(event: string, data: unknown) {
      if ((data as Partial<Run> | null)?.object === 'thread.run') channel.status = (data as Run).status;
      const payload = typeof data === 'string' ? data : JSON.stringify(data);
      log.push({
        frame: `id: ${log.length + 1}\nevent: ${event}\ndata: ${payload}\n\n`,
        done: event === 'done',
      });
      for (const reader of readers) flush(reader);
    },
    cut() {
      for (const { res } of readers) res.destroy();
      readers.clear();
    },
    finish() {
      finished = true;
      end();
      for (const reader of readers) flush(reader);
    },
  };
  return channel;
}

// Like the real API, the server fills defaults the client did not send (a model, `strict: false`).
function applyAssistant(a: Assistant, body: Record<string, unknown>): Assistant {
  const tools = (body['tools'] as Assistant['tools'] | undefined) ?? a.tools ?? [];
  return Object.assign(a, {
    name: body['name'] ?? a.name ?? null,
    instructions: body['instructions'] ?? a.instructions ?? null,
    model: body['model'] ?? a.model ?? 'parley-offline',
    temperature: body['temperature'] ?? a.temperature ?? 1,
    metadata: body['metadata'] ?? a.metadata ?? {},
    tools: tools.map((t) =>
      t.type === 'function' ? { ...t, function: { strict: false, ...t.function } } : t,
    ),
    top_p: 1,
    tool_resources: body['tool_resources'] ?? a.tool_resources ?? null,
    response_format: 'auto',
  });
}

function makeMessage(
  id: string,
  threadId: string,
  role: 'user' | 'assistant',
  text: string,
  at: number,
): Message {
  return {
    id,
    object: 'thread.message',
    created_at: at,
    thread_id: threadId,
    role,
    content: [{ type: 'text', text: { value: text, annotations: [] } }],
    status: 'completed',
    assistant_id: null,
    run_id: null,
    attachments: [],
    completed_at: at,
    incomplete_at: null,
    incomplete_details: null,
    metadata: {},
  };
}
