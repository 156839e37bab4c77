// Stand-ins for the game's own objects, which the README's sample uses.
declare const session: { token: string };
declare const bubble: { setText(text: string): void };

// #region readme
import { createParley } from '@parley/dialogue';

const parley = createParley({ url: 'http://127.0.0.1:8787', auth: () => session.token });
const innkeeper = parley.npc({ id: 'innkeeper', name: 'Marta', instructions: 'You run the Gilded Goose.' });
const turn = innkeeper.conversation({ key: 'slot-1' }).say('A room for the night?');
for await (const event of turn) if (event.type === 'text.delta') bubble.setText(event.text);
// #endregion readme
