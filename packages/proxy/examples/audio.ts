import { createReadStream } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import OpenAI from 'openai';

const client = new OpenAI({ baseURL: 'http://127.0.0.1:8787/v1', apiKey: 'unused' });

// Text to speech: streamed, so playback can start before the clip is finished.
const speech = await client.audio.speech.create({
  model: 'gpt-4o-mini-tts',
  voice: 'onyx',
  input: 'Halt! Who goes there?',
  response_format: 'opus',
});
await writeFile('brom.ogg', Buffer.from(await speech.arrayBuffer()));

// Speech to text (needs a key: offline, the proxy answers 400 and the game uses the browser's recognition).
const heard = await client.audio.transcriptions.create({
  file: createReadStream('question.webm'),
  model: 'gpt-4o-mini-transcribe',
  language: 'en',
});
console.log(heard.text);
