import { createParley } from '@parley/dialogue';

declare const inventory: { add(item: string): string };
const innkeeper = createParley({ url: '' }).npc({ id: 'innkeeper', name: 'Marta', instructions: '…' });

// #region readme
innkeeper.tool<{ item: 'key' | 'ale' }>('give_item', {
  description: 'Hand the player an item from behind the bar.',
  parameters: { type: 'object', properties: { item: { enum: ['key', 'ale'] } }, required: ['item'] },
  run: ({ item }) => inventory.add(item), // what it returns is what the model is told
});
// #endregion readme
