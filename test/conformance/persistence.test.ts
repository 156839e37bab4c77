import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { availableParallelism, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createProxy, loadConfig } from '@parley/proxy';
import OpenAI from 'openai';
import { afterAll, describe, expect, it } from 'vitest';
import { postJson, proxyEnv, readSse, type SseEvent } from '../support/proxy.js';

const CLI = resolve(fileURLToPath(import.meta.url), '../../../packages/proxy/dist/cli.js');

const dirs: string[] = [];
async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'parley-conformance-'));
  dirs.push(dir);
  return dir;
}
afterAll(async () => {
  await Promise.all(dirs.map((dir) => rm(dir, { recursive: true, force: true })));
});

const client = (url: string) => new OpenAI({ baseURL: `${url}/v1`, apiKey: 'anything', maxRetries: 0 });

describe('persistence (PARLEY_DATA_DIR)', () => {
  // One proxy pair for the whole block: every proxy boots a PGlite database, which costs seconds.
  let config: ReturnType<typeof loadConfig>;
  let second: Awaited<ReturnType<typeof createProxy>> | undefined;
  let again: OpenAI;
  const saved = {} as {
    assistant: OpenAI.Beta.Assistant;
    toolAssistant: OpenAI.Beta.Assistant;
    thread: OpenAI.Beta.Thread;
    run: OpenAI.Beta.Threads.Run;
    messages: OpenAI.Beta.Threads.Message[];
    steps: OpenAI.Beta.Threads.Runs.RunStep[];
    waiting: { threadId: string; runId: string };
    streamed: { threadId: string; runId: string };
  };
  afterAll(async () => {
    await second?.close();
  });

  it('before a clean restart: a completed run, a run waiting for tool outputs, a run still streaming', async () => {
    const dataDir = await tempDir();
    config = loadConfig(
      proxyEnv('offline', undefined, { PARLEY_DATA_DIR: dataDir, PARLEY_OFFLINE_DELAY_MS: '20' }),
    );
    const first = await createProxy(config);
    const url = await first.listen();
    const api = client(url);
    saved.assistant = await api.beta.assistants.create({
      model: 'm',
      name: 'Brom',
      instructions: 'You are Brom, the gruff gate guard of Eastwatch.',
      metadata: { v: '1' },
    });
    saved.thread = await api.beta.threads.create({
      messages: [{ role: 'user', content: 'Hello, guard.' }],
      metadata: { save: 'slot1' },
    });
    const threadId = saved.thread.id;
    await api.beta.threads.messages.create(threadId, { role: 'user', content: 'Is the gate open?' });
    saved.run = await api.beta.threads.runs.createAndPoll(
      threadId,
      { assistant_id: saved.assistant.id },
      { pollIntervalMs: 20 },
    );
    expect(saved.run.status).toBe('completed');
    saved.messages = (await api.beta.threads.messages.list(threadId, { order: 'asc' })).data;
    expect(saved.messages.map((m) => m.role)).toEqual(['user', 'user', 'assistant']);
    saved.steps = (await api.beta.threads.runs.steps.list(saved.run.id, { thread_id: threadId })).data;

    // A run waiting for tool outputs.
    saved.toolAssistant = await api.beta.assistants.create({
      model: 'm',
      instructions: 'You are Brom, the gruff gate guard of Eastwatch.',
      tools: [
        {
          type: 'function',
          function: {
            name: 'open_gate',
            description: 'Open the named town gate.',
            parameters: {
              type: 'object',
              properties: { gate: { type: 'string', enum: ['north', 'south'] } },
            },
          },
        },
      ],
    });
    const toolThread = await api.beta.threads.create({
      messages: [{ role: 'user', content: 'Open the north gate!' }],
    });
    const waiting = await api.beta.threads.runs
      .stream(toolThread.id, { assistant_id: saved.toolAssistant.id })
      .finalRun();
    expect(waiting.status).toBe('requires_action');
    saved.waiting = { threadId: toolThread.id, runId: waiting.id };

    // A run still streaming when the proxy shuts down.
    const other = await api.beta.threads.create({
      messages: [{ role: 'user', content: 'Tell me a long story.' }],
    });
    const controller = new AbortController();
    const response = await postJson(
      `${url}/v1/threads/${other.id}/runs`,
      { assistant_id: saved.assistant.id, stream: true },
      { signal: controller.signal },
    );
    let streamedRunId = '';
    for await (const event of readSse(response.body!)) {
      if (event.event === 'thread.run.created') streamedRunId = (JSON.parse(event.data) as { id: string }).id;
      if (event.event === 'thread.message.delta') break;
    }
    saved.streamed = { threadId: other.id, runId: streamedRunId };
    const closing = first.close();
    controller.abort();
    await closing;

    second = await createProxy(config);
    again = client(await second.listen());
  });

  it('after the restart: assistants, threads, messages, runs and steps are intact', async () => {
    const { assistant, thread, run } = saved;
    expect(await again.beta.assistants.retrieve(assistant.id)).toEqual(assistant);
    expect(await again.beta.threads.retrieve(thread.id)).toEqual(thread);
    expect((await again.beta.threads.messages.list(thread.id, { order: 'asc' })).data).toEqual(
      saved.messages,
    );
    expect(await again.beta.threads.runs.retrieve(run.id, { thread_id: thread.id })).toEqual(run);
    expect((await again.beta.threads.runs.steps.list(run.id, { thread_id: thread.id })).data).toEqual(
      saved.steps,
    );
  });

  it('after the restart: the run that was streaming is cancelled, not left in progress', async () => {
    const { threadId, runId } = saved.streamed;
    const interrupted = await again.beta.threads.runs.retrieve(runId, { thread_id: threadId });
    expect(interrupted.status).toBe('cancelled');
    const partial = (await again.beta.threads.messages.list(threadId, { run_id: runId })).data;
    for (const message of partial) expect(message.status).toBe('incomplete');
    const steps = (await again.beta.threads.runs.steps.list(runId, { thread_id: threadId })).data;
    for (const step of steps) expect(step.status).not.toBe('in_progress');
  });

  it('after the restart: the waiting run still accepts its tool outputs', async () => {
    const { threadId, runId } = saved.waiting;
    const waiting = await again.beta.threads.runs.retrieve(runId, { thread_id: threadId });
    expect(waiting.status).toBe('requires_action');
    const done = await again.beta.threads.runs.submitToolOutputsAndPoll(
      runId,
      {
        thread_id: threadId,
        tool_outputs: waiting.required_action!.submit_tool_outputs.tool_calls.map((c) => ({
          tool_call_id: c.id,
          output: '{"ok":true}',
        })),
      },
      { pollIntervalMs: 20 },
    );
    expect(done.status).toBe('completed');
  });

  it('after the restart: new runs on the old threads work', async () => {
    const { thread, assistant } = saved;
    await again.beta.threads.messages.create(thread.id, { role: 'user', content: 'Thanks.' });
    const next = await again.beta.threads.runs.createAndPoll(
      thread.id,
      { assistant_id: assistant.id },
      { pollIntervalMs: 20 },
    );
    expect(next.status).toBe('completed');
    const run = await again.beta.threads.runs.createAndPoll(
      saved.streamed.threadId,
      { assistant_id: assistant.id },
      { pollIntervalMs: 20 },
    );
    expect(run.status).toBe('completed');
  });
});

/** Starts the CLI and resolves with its URL once it prints it. */
async function startCli(
  dataDir: string,
  options: { oneCpu?: boolean; nodeArgs?: string[]; env?: Record<string, string> } = {},
): Promise<{ child: ChildProcess; url: string; stderr: () => string }> {
  const env: Record<string, string> = {
    PATH: process.env['PATH'] ?? '',
    HOME: process.env['HOME'] ?? dataDir,
    PORT: '0',
    PARLEY_DATA_DIR: dataDir,
    PARLEY_OFFLINE_DELAY_MS: '100',
    ...options.env,
  };
  const args = [...(options.nodeArgs ?? []), CLI];
  const [command, ...rest] = options.oneCpu
    ? ['taskset', '-c', '0', process.execPath, ...args]
    : [process.execPath, ...args];
  const child = spawn(command!, rest, { cwd: dataDir, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const url = await new Promise<string>((resolvePromise, reject) => {
    const timer = setTimeout(() => reject(new Error(`CLI did not start: ${stderr}`)), 20_000);
    child.stdout!.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      const match = /listening on (http:\/\/\S+)/.exec(stdout);
      if (match) {
        clearTimeout(timer);
        resolvePromise(match[1]!);
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`CLI exited with ${code}: ${stderr}`));
    });
  });
  return { child, url, stderr: () => stderr };
}

describe('the CLI on one CPU', () => {
  const hint = 'one CPU: start Node with';

  it.each([
    ['names both flags', [], {}, '--single-threaded-gc --max-semi-space-size=16 for'],
    ['names the one missing', ['--single-threaded-gc'], {}, '--max-semi-space-size=16 for'],
    [
      'finds a flag in NODE_OPTIONS',
      ['--single-threaded-gc'],
      { NODE_OPTIONS: '--max_semi_space_size=8' },
      undefined,
    ],
    [
      'says nothing when Node was started with both',
      ['--single-threaded-gc', '--max-semi-space-size=2'],
      {},
      undefined,
    ],
  ])('%s', async (_, nodeArgs, env, said) => {
    const cli = await startCli(await tempDir(), { oneCpu: true, nodeArgs, env });
    cli.child.kill('SIGTERM');
    await new Promise((resolve) => cli.child.once('exit', resolve));
    const line = cli
      .stderr()
      .split('\n')
      .find((text) => text.includes(hint));
    if (said === undefined) expect(line).toBeUndefined();
    else expect(line).toContain(`${hint} ${said}`);
  });

  it.skipIf(availableParallelism() < 2)('says nothing with more than one CPU', async () => {
    const cli = await startCli(await tempDir());
    cli.child.kill('SIGTERM');
    await new Promise((resolve) => cli.child.once('exit', resolve));
    expect(cli.stderr()).not.toContain(hint);
  });
});

describe('crash recovery (CLI child process, SIGKILL)', () => {
  const children: ChildProcess[] = [];
  afterAll(() => {
    for (const child of children)
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });

  it('after SIGKILL mid-stream: thread and user message intact, run failed, a new run works', async () => {
    const dataDir = await tempDir();
    const first = await startCli(dataDir);
    children.push(first.child);
    const api = client(first.url);
    const assistant = await api.beta.assistants.create({
      model: 'm',
      instructions:
        'You are Odo, a learned and verbose scholar of the old tongue. The library holds nine thousand books.',
    });
    const thread = await api.beta.threads.create({
      messages: [{ role: 'user', content: 'Tell me everything about the library and its books.' }],
      metadata: { slot: 'crash' },
    });
    const userMessages = await api.beta.threads.messages.list(thread.id);

    const response = await postJson(`${first.url}/v1/threads/${thread.id}/runs`, {
      assistant_id: assistant.id,
      stream: true,
    });
    expect(response.status).toBe(200);
    const events: SseEvent[] = [];
    let deltas = 0;
    for await (const event of readSse(response.body!)) {
      events.push(event);
      if (event.event === 'thread.message.delta' && ++deltas >= 2) break;
    }
    const runId = (JSON.parse(events[0]!.data) as { id: string }).id;
    const exited = new Promise((r) => first.child.once('exit', r));
    first.child.kill('SIGKILL');
    await exited;

    const second = await startCli(dataDir);
    children.push(second.child);
    try {
      const again = client(second.url);
      const restored = await again.beta.threads.retrieve(thread.id);
      expect(restored.metadata).toEqual({ slot: 'crash' });
      const messages = await again.beta.threads.messages.list(thread.id, { order: 'asc' });
      expect(messages.data[0]).toEqual(userMessages.data[0]);
      // The half-written reply, if it was stored, is not left in progress.
      for (const message of messages.data) expect(message.status).not.toBe('in_progress');

      const run = await again.beta.threads.runs.retrieve(runId, { thread_id: thread.id });
      expect(run.status).toBe('failed');
      expect(run.last_error).toMatchObject({ code: 'server_error', message: expect.any(String) });
      expect(run.failed_at).toEqual(expect.any(Number));
      const steps = await again.beta.threads.runs.steps.list(runId, { thread_id: thread.id });
      for (const step of steps.data) expect(step.status).not.toBe('in_progress');

      // The thread is not stuck behind the dead run.
      const next = await again.beta.threads.runs.createAndPoll(
        thread.id,
        { assistant_id: assistant.id },
        { pollIntervalMs: 50 },
      );
      expect(next.status).toBe('completed');
      const after = await again.beta.threads.messages.list(thread.id, { run_id: next.id });
      expect(after.data).toHaveLength(1);
      expect(after.data[0]!.status).toBe('completed');

      // A clean shutdown (SIGTERM) exits 0.
      const code = new Promise<number | null>((r) => second.child.once('exit', (c) => r(c)));
      second.child.kill('SIGTERM');
      expect(await code).toBe(0);
    } finally {
      if (second.child.exitCode === null && second.child.signalCode === null) second.child.kill('SIGKILL');
    }
  }, 60_000);
});

describe('an embedding program (createProxy in a game server)', () => {
  // Node refuses V8's and process-wide options in a worker's execArgv; the store's worker must still open.
  it.each([
    ['', []],
    [
      ' (started with --max-old-space-size and --stack-size)',
      ['--max-old-space-size=512', '--stack-size=2000'],
    ],
  ])(
    'ends by itself, with code 0, once it has closed the proxy%s',
    async (_, hostOptions) => {
      const dataDir = await tempDir();
      // The program's last await is close(): nothing else keeps its event loop alive to hear the store end.
      const program = `
      import { createProxy, loadConfig } from '@parley/proxy';
      const proxy = await createProxy(loadConfig({
        PORT: '0', HOST: '127.0.0.1', PARLEY_LOG: 'silent', OPENAI_API_KEY: '', PARLEY_DATA_DIR: ${JSON.stringify(dataDir)},
      }));
      const url = await proxy.listen();
      const response = await fetch(url + '/v1/threads', {
        method: 'POST', headers: { 'x-parley-player': 'p1', 'content-type': 'application/json' }, body: '{}',
      });
      await response.json();
      await proxy.close();
      console.log('closed');
    `;
      const child = spawn(process.execPath, [...hostOptions, '--input-type=module', '-e', program], {
        cwd: fileURLToPath(new URL('..', import.meta.url)),
        env: { PATH: process.env['PATH'] ?? '', HOME: process.env['HOME'] ?? dataDir },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stdout = '';
      let stderr = '';
      child.stdout!.on('data', (chunk: Buffer) => {
        stdout += chunk.toString();
      });
      child.stderr!.on('data', (chunk: Buffer) => {
        stderr += chunk.toString();
      });
      const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
      const code = await new Promise<number | null>((r) => child.once('exit', (c) => r(c)));
      clearTimeout(timer);
      expect({ code, stdout: stdout.trim(), stderr }).toEqual({ code: 0, stdout: 'closed', stderr: '' });
    },
    40_000,
  );
});
