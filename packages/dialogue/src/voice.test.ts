import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createParley } from './parley.js';
import { memoryStore } from './store.js';
import { rejection, startTestProxy, type TestProxy } from './test-proxy.js';
import { createVoice, isNoTranscription, type SpokenClip, sentenceSplitter } from './voice.js';

interface Heard {
  path: string;
  headers: IncomingHttpHeaders;
  body: Buffer;
  /** Whether the client hung up before the answer was sent. */
  aborted: boolean;
}

/** A real server with the proxy's audio routes: speech answers after `delayMs` with the input as bytes. */
async function startAudioServer(delayMs = 0, { transcribes = false } = {}) {
  const heard: Heard[] = [];
  const server = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const entry: Heard = {
      path: req.url ?? '',
      headers: req.headers,
      body: Buffer.concat(chunks),
      aborted: false,
    };
    heard.push(entry);
    res.on('close', () => {
      if (!res.writableFinished) entry.aborted = true;
    });
    await new Promise((resolve) => setTimeout(resolve, delayMs));
    if (req.url === '/v1/audio/speech') {
      const { input } = JSON.parse(entry.body.toString()) as { input: string };
      if (!input.trim()) {
        res.writeHead(400, { 'Content-Type': 'application/json' });
        res.end(
          JSON.stringify({
            error: { message: "Invalid 'input'", type: 'invalid_request_error', code: 'invalid_value' },
          }),
        );
        return;
      }
      res.writeHead(200, { 'Content-Type': 'audio/wav' });
      res.end(`RIFF:${input}`);
    } else if (transcribes) {
      // As a proxy with a transcription model answers.
      const hasFile = entry.body.toString('latin1').includes('name="file"');
      res.writeHead(hasFile ? 200 : 400, { 'Content-Type': 'application/json' });
      res.end(
        JSON.stringify(
          hasFile
            ? { text: 'Where is the mill?' }
            : {
                error: {
                  message: "Missing required parameter: 'file'.",
                  type: 'invalid_request_error',
                  param: 'file',
                  code: 'missing_required_parameter',
                },
              },
        ),
      );
    } else {
      // As the offline proxy answers.
      res.writeHead(400, { 'Content-Type': 'application/json' });
      res.end(
        JSON.stringify({
          error: {
            message:
              'No transcription model is configured on this server: the proxy runs offline, without a key.',
            type: 'invalid_request_error',
            param: 'model',
            code: 'invalid_value',
          },
        }),
      );
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    heard,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

const text = (audio: ArrayBuffer) => new TextDecoder().decode(audio);

describe('sentenceSplitter', () => {
  it('completes sentences as the text grows and keeps abbreviations and unfinished ones', () => {
    const split = sentenceSplitter();
    expect(split.push('Halt! Who go')).toEqual(['Halt!']);
    expect(split.push('Halt! Who goes there? Mr. Brom')).toEqual(['Who goes there?']);
    expect(split.push('Halt! Who goes there? Mr. Brom said "no." Then\nthe gate')).toEqual([
      'Mr. Brom said "no."',
      'Then',
    ]);
    expect(split.end('Halt! Who goes there? Mr. Brom said "no." Then\nthe gate closed')).toEqual([
      'the gate closed',
    ]);
  });
});

describe('voice', () => {
  let audio: Awaited<ReturnType<typeof startAudioServer>>;
  let proxy: TestProxy;
  beforeEach(async () => {
    audio = await startAudioServer();
    proxy = await startTestProxy();
  });
  afterEach(async () => {
    await audio.close();
    await proxy.close();
  });

  it('speak posts the speech request and returns the audio bytes', async () => {
    const voice = createVoice({ url: `${audio.url}/`, auth: () => 'tok' });
    const bytes = await voice.speak('Halt!', { voice: 'onyx', speed: 1.2 });
    expect(text(bytes)).toBe('RIFF:Halt!');
    const [request] = audio.heard;
    expect(request?.headers.authorization).toBe('Bearer tok');
    expect(JSON.parse(request!.body.toString())).toEqual({
      model: 'gpt-4o-mini-tts',
      input: 'Halt!',
      voice: 'onyx',
      response_format: 'wav',
      speed: 1.2,
    });
  });

  it('speak turns an error body into a DialogueError', async () => {
    const error = await rejection(createVoice({ url: audio.url }).speak(' '));
    expect(error).toMatchObject({ code: 'invalid_request', status: 400 });
  });

  it('speakTurn requests the first sentence while the reply still streams', async () => {
    let firstSpokenMidStream = false;
    proxy.script = async ({ run, send, say }) => {
      send('thread.run.created', run('queued'));
      send('thread.run.in_progress', run('in_progress'));
      await say('Halt! Who goes there? State your name.', 4, async (n) => {
        // After "Halt! Wh" the first sentence is complete: wait for its speech request before streaming on.
        if (n !== 2) return;
        for (let i = 0; i < 200 && audio.heard.length === 0; i++) await new Promise((r) => setTimeout(r, 5));
        firstSpokenMidStream = audio.heard.length === 1;
      });
      send('thread.run.completed', run('completed'));
      send('done', '[DONE]');
    };
    const turn = createParley({ url: proxy.url, store: memoryStore() })
      .npc({ id: 'brom', name: 'Brom', instructions: 'A guard.' })
      .conversation()
      .say('Hello');
    const voice = createVoice({ url: audio.url });
    const clips: SpokenClip[] = [];
    for await (const clip of voice.speakTurn(turn, { voice: 'ash' })) clips.push(clip);
    expect(firstSpokenMidStream).toBe(true);
    expect(clips.map((clip) => clip.text)).toEqual(['Halt!', 'Who goes there?', 'State your name.']);
    // Where each sentence is in the reply: what subtitles pace themselves by.
    expect(clips.map(({ start, end }) => [start, end])).toEqual([
      [0, 5],
      [6, 21],
      [22, 38],
    ]);
    // The time to first audio of each clip is measurable: its answer came after its request.
    for (const clip of clips) expect(await clip.firstAudioAt).toBeGreaterThanOrEqual(clip.requestedAt);
    expect(await Promise.all(clips.map(async (clip) => text(await clip.audio)))).toEqual([
      'RIFF:Halt!',
      'RIFF:Who goes there?',
      'RIFF:State your name.',
    ]);
  });

  it('an interrupted turn aborts the speech requests still open', async () => {
    await audio.close();
    audio = await startAudioServer(5_000);
    proxy.script = async ({ run, send, say, cancelled }) => {
      send('thread.run.created', run('queued'));
      send('thread.run.in_progress', run('in_progress'));
      await say('Halt! Who goes there? ', 4);
      await cancelled;
      send('thread.run.cancelled', run('cancelled'));
      send('done', '[DONE]');
    };
    const turn = createParley({ url: proxy.url, store: memoryStore() })
      .npc({ id: 'brom', name: 'Brom', instructions: 'A guard.' })
      .conversation()
      .say('Hello');
    const clips: SpokenClip[] = [];
    for await (const clip of createVoice({ url: audio.url }).speakTurn(turn)) {
      clips.push(clip);
      if (clips.length === 2) turn.interrupt();
    }
    expect(clips).toHaveLength(2);
    for (const clip of clips) expect(await rejection(clip.audio)).toMatchObject({ code: 'interrupted' });
  });

  it('speakTurn skips what prepare empties', async () => {
    proxy.script = async ({ run, send, say }) => {
      send('thread.run.created', run('queued'));
      await say('Aye.\n> Tell me more\n> Goodbye');
      send('thread.run.completed', run('completed'));
      send('done', '[DONE]');
    };
    const turn = createParley({ url: proxy.url, store: memoryStore() })
      .npc({ id: 'brom', name: 'Brom', instructions: 'A guard.' })
      .conversation()
      .say('Hello');
    const clips: string[] = [];
    const prepare = (sentence: string) => (sentence.startsWith('>') ? '' : sentence);
    for await (const clip of createVoice({ url: audio.url }).speakTurn(turn, { prepare }))
      clips.push(clip.text);
    expect(clips).toEqual(['Aye.']);
  });

  it('listen sends the clip as multipart and reports a proxy without a transcription model', async () => {
    const voice = createVoice({ url: audio.url });
    const clip = new Blob([new Uint8Array([1, 2, 3])], { type: 'audio/webm;codecs=opus' });
    const error = await rejection(voice.listen(clip, { language: 'en' }));
    expect(error).toMatchObject({ code: 'invalid_request', status: 400 });
    expect(isNoTranscription(error)).toBe(true);
    const [request] = audio.heard;
    expect(request?.path).toBe('/v1/audio/transcriptions');
    expect(request?.headers['content-type']).toMatch(/^multipart\/form-data; boundary=/);
    const body = request!.body.toString('latin1');
    expect(body).toContain('filename="speech.webm"');
    expect(body).toMatch(/name="model"\r\n\r\ngpt-4o-mini-transcribe/);
    expect(body).toMatch(/name="language"\r\n\r\nen/);
  });

  it('transcribes() tells a proxy that can transcribe from one that cannot, without sending audio', async () => {
    expect(await createVoice({ url: audio.url }).transcribes()).toBe(false);
    expect(audio.heard.at(-1)?.body.toString('latin1')).not.toContain('name="file"');
    const online = await startAudioServer(0, { transcribes: true });
    try {
      const voice = createVoice({ url: online.url });
      expect(await voice.transcribes()).toBe(true);
      const clip = new Blob([new Uint8Array([1, 2, 3])], { type: 'audio/ogg' });
      expect(await voice.listen(clip)).toBe('Where is the mill?');
    } finally {
      await online.close();
    }
    // Another 400 on `model` (a name the server refuses) is no "use the browser" answer.
    expect(
      isNoTranscription(
        Object.assign(new Error("Invalid 'model'"), {
          status: 400,
          cause: { code: 'invalid_value', param: 'model' },
        }),
      ),
    ).toBe(false);
  });
});
