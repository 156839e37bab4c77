import { createParley } from '@parley/dialogue';

declare const inventory: { add(item: 'key' | 'ale', count: number): string };
const innkeeper = createParley({ url: '' }).npc({ id: 'innkeeper', name: 'Marta', instructions: '…' });

// #region readme
import { schemaTool } from '@parley/dialogue/schema';
import { z } from 'zod';

innkeeper.tool(
  'give_item',
  schemaTool({
    description: 'Hand the player an item from behind the bar.',
    parameters: z.object({ item: z.enum(['key', 'ale']), count: z.number().int().min(1).default(1) }),
    run: ({ item, count }) => inventory.add(item, count), // item: 'key' | 'ale', count: number
  }),
);
// #endregion readme
