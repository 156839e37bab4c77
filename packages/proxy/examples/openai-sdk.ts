import OpenAI from 'openai';

const client = new OpenAI({ baseURL: 'http://127.0.0.1:8787/v1', apiKey: 'unused' });
const npc = await client.beta.assistants.create({
  model: 'gpt-5.5',
  name: 'Brom',
  instructions: 'You are Brom, a gruff gate guard.',
});
const thread = await client.beta.threads.create({ messages: [{ role: 'user', content: 'Open the gate!' }] });
client.beta.threads.runs
  .stream(thread.id, { assistant_id: npc.id })
  .on('textDelta', (delta) => process.stdout.write(delta.value ?? ''));
