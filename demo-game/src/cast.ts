// The four people of Eastwatch: who they are (the assistant's instructions), what they can do in the
// world (tools), and the game's own checks on every tool call. The model may be wrong or talked into
// things; the game state decides, and a refusal goes back to the model as `{ ok: false, error }`.
//
// No Phaser here (only type imports), so the tools can be exercised without a browser.
import type { GameState, ItemId, QuestStage } from './state.ts';
import { coins, ITEM_IDS, ITEMS, PASSWORD, TOWER_OIL, withArticle } from './state.ts';

/** What a tool answers the model. */
export type ToolAnswer = { ok: true; message: string; [key: string]: unknown } | { ok: false; error: string };

/** What tools may do besides changing the state. */
export interface ToolWorld {
  readonly state: GameState;
  /** Tells another NPC what happened (`conversation.tell`), read on its next turn. */
  tell(npcId: NpcId, text: string): void;
}

export interface ToolSpec {
  readonly description: string;
  readonly parameters: Record<string, unknown>;
  run(args: Record<string, unknown>, world: ToolWorld): ToolAnswer;
}

export type NpcId = 'brom' | 'tilda' | 'marta' | 'odo';

export interface CastMember {
  readonly id: NpcId;
  /** The assistant's id on the proxy (`metadata.parley_npc`); versioned so edits here make a new one. */
  readonly npcId: string;
  readonly name: string;
  readonly title: string;
  readonly instructions: string;
  readonly tools: Readonly<Record<string, ToolSpec>>;
  /** Knowledge the NPC searches (file_search) and cites: the proxy's read-only lore stores. */
  readonly vectorStoreIds?: readonly string[];
  /** Ambient lines muttered when the player passes by. */
  readonly barks: readonly string[];
}

/**
 * The village's history as everyone knows it, put in Odo's instructions. What only his books say (what oil
 * lit the old watchtower's lantern) is not here: he looks it up in the library (`vs_lore_library`, from
 * demo-game/lore/library through parley.config.json) and cites it.
 */
export const LORE = [
  'Eastwatch was founded two hundred years ago by Alda Venn, a river-warden who built the first watchtower on the Silverrun.',
  'The Silverrun is the river east of the village; its water is cold even in summer because it comes down from the Greyfell glacier.',
  'The north wall was raised after the Long Winter, when wolves came down from the Greyfell hills.',
  'The north gate has been shut at night ever since, and it opens after dark only for those who know the night password.',
  'The night password is chosen each season by the scholar of Eastwatch and kept in the library.',
  'The Gilded Goose is the oldest inn of the village; its golden goose sign was carved by Alda Venn herself.',
  'The market square holds a fair every autumn, with apple cider, ropes and lanterns from the lowland towns.',
  'Beyond the north gate the old road climbs to the Greyfell pass and, in four days, to the city of Harrowmere.',
].join(' ');

const LANTERN_QUEST = 'lantern_for_odo';
/** The oils Odo knows of; the chronicle says which lit the old watchtower's lantern. */
const OILS = [TOWER_OIL, 'olive', 'whale', 'tallow', 'linseed'];

const sold = (item: ItemId) => ITEMS[item].name;
const capitalize = (s: string) => s.charAt(0).toUpperCase() + s.slice(1);

export const CAST: readonly CastMember[] = [
  {
    id: 'brom',
    npcId: 'eastwatch-brom-v2',
    name: 'Brom',
    title: 'gate guard',
    instructions: [
      "You are Brom, the gruff gate guard of Eastwatch's north gate: tired, loyal, a man of few words.",
      'The north gate is shut for the night, and it opens only for someone who tells me the night password.',
      'Odo the scholar keeps the night password in his library by the east wall.',
      'Marta at the Gilded Goose always knows who needs a hand in the village.',
      'Speak in short sentences and stay in character.',
      'When the player tells you a password and asks you to open the gate, call open_gate with the password exactly as the player said it; the game checks it. Never guess the password yourself, and never claim the gate is open unless open_gate said so. If the player cannot give the password, tell them to ask Odo. If the player talks their way around you, you may try open_gate, but the game decides.',
    ].join(' '),
    tools: {
      open_gate: {
        description: 'Open the north gate of Eastwatch for the player, if they told you the night password.',
        parameters: {
          type: 'object',
          properties: {
            password: { type: 'string', description: 'The password the player told you, as they said it.' },
          },
          additionalProperties: false,
        },
        run(args, { state, tell }) {
          if (state.gateOpen) return { ok: true, message: 'The gate is already open. Go on through.' };
          const said = typeof args['password'] === 'string' ? args['password'].trim().toLowerCase() : '';
          if (!said)
            return { ok: false, error: 'No password, no gate. Ask Odo the scholar for the night password' };
          if (said.replace(/[^a-z]/g, '') !== PASSWORD)
            return {
              ok: false,
              error: `"${args['password']}" is not the night password. The gate stays shut`,
            };
          state.openGate();
          if (!state.questAtLeast('gate')) state.setQuest('gate');
          state.addLog('Brom heard the password and opened the north gate.');
          tell('marta', 'Brom opened the north gate for the traveller tonight.');
          return { ok: true, message: 'Ember. That is the word. The gate is open; go on through' };
        },
      },
    },
    barks: ['Gate stays shut after dusk.', 'Hm. Another traveller.', 'No password, no passage.'],
  },
  {
    id: 'tilda',
    npcId: 'eastwatch-tilda-v2',
    name: 'Tilda',
    title: 'merchant',
    instructions: [
      'You are Tilda, a friendly merchant with a stall on the market square of Eastwatch; you love a good haggle.',
      `My stall sells a lantern for ${coins(ITEMS.lantern.price)}, a coil of rope for ${coins(ITEMS.rope.price)}, a loaf of bread for ${coins(ITEMS.bread.price)} and an apple for ${coins(ITEMS.apple.price)}.`,
      'The lantern is my last one, brass with a glass chimney, made in Harrowmere.',
      'Haggling is half the fun of the market, but a fair price is a fair price.',
      'Call offer_item when the player names a price or asks for a better one; call complete_sale when the player wants to buy. The game checks your stock and the player’s coins and tells you the outcome: repeat what it says and never pretend a sale happened when it refused. Stay in character and keep replies short.',
    ].join(' '),
    tools: {
      offer_item: {
        description:
          'Haggle: agree a price for one item when the player offers a price or asks for a discount.',
        parameters: {
          type: 'object',
          properties: {
            item: { type: 'string', enum: ITEM_IDS, description: 'Which item.' },
            price: { type: 'integer', minimum: 0, description: 'The price in coins the player offered.' },
          },
          required: ['item', 'price'],
          additionalProperties: false,
        },
        run(args, { state }) {
          const item = args['item'] as ItemId;
          const price = Number(args['price']);
          const info = ITEMS[item];
          if (state.stock(item) < 1) return { ok: false, error: `the ${sold(item)} is sold out` };
          if (price < info.floor)
            return {
              ok: false,
              error: `${coins(price)} for the ${sold(item)}? Too low; I can go down to ${coins(info.floor)}, no less`,
            };
          const agreed = Math.min(price, info.price);
          state.agree(item, agreed);
          return {
            ok: true,
            message: `Deal: the ${sold(item)} is yours for ${coins(agreed)}. Say you will buy it and I will wrap it up`,
            item,
            price: agreed,
          };
        },
      },
      complete_sale: {
        description: 'Sell one item to the player when they want to buy it.',
        parameters: {
          type: 'object',
          properties: {
            item: { type: 'string', enum: ITEM_IDS, description: 'Which item.' },
            coins: {
              type: 'integer',
              minimum: 0,
              description: 'Agreed coins, if different from the asking price.',
            },
          },
          required: ['item'],
          additionalProperties: false,
        },
        run(args, { state, tell }) {
          const item = args['item'] as ItemId;
          const info = ITEMS[item];
          if (state.stock(item) < 1) return { ok: false, error: `the ${sold(item)} is sold out` };
          const offered = typeof args['coins'] === 'number' ? args['coins'] : undefined;
          const price = Math.min(info.price, offered ?? state.agreedPrice(item) ?? info.price);
          if (price < info.floor)
            return { ok: false, error: `${coins(price)} is too little for the ${sold(item)}` };
          if (state.coins < price)
            return {
              ok: false,
              error: `the ${sold(item)} costs ${coins(price)} and you only have ${coins(state.coins)}`,
            };
          // Tilda looks after the village's errand: she will not let the player spend the lantern money.
          const needsLantern =
            item !== 'lantern' &&
            state.quest === 'lantern' &&
            state.count('lantern') === 0 &&
            state.stock('lantern') > 0;
          if (needsLantern && state.coins - price < ITEMS.lantern.floor)
            return {
              ok: false,
              error: `you would not have enough left for Odo's lantern; buy the lantern first`,
            };
          state.addCoins(-price);
          state.addItem(item, 1);
          state.takeStock(item);
          state.addLog(`Bought ${withArticle(sold(item))} from Tilda for ${coins(price)}.`);
          if (item === 'lantern') tell('odo', 'The traveller bought the brass lantern from Tilda.');
          return {
            ok: true,
            message: `Sold: one ${sold(item)} for ${coins(price)}. Pleasure doing business`,
            item,
            price,
          };
        },
      },
    },
    barks: ['Lanterns! Rope! Fresh bread!', 'Apples, crisp as the morning!', 'Best prices on the square!'],
  },
  {
    id: 'marta',
    npcId: 'eastwatch-marta-v2',
    name: 'Marta',
    title: 'innkeeper',
    instructions: [
      'You are Marta, the cheerful innkeeper of the Gilded Goose, who hears every rumour in Eastwatch.',
      'Odo the scholar broke his lantern last week and has been squinting at his books by candle stubs ever since.',
      'Tilda on the market square has one brass lantern left, and she loves to haggle.',
      'Rumour has it the night password of the north gate is kept in Odo’s library.',
      'Brom the gate guard has a hard face, and he has never once let a stranger through without the password.',
      'The cider at the Gilded Goose is made from the apples of the Silverrun orchards.',
      'Call give_quest when the player asks for work, a quest or a way to help: the errand is to buy a lantern from Tilda and bring it to Odo, who will share the night password in thanks. The game says whether the quest was given. Tell rumours freely and stay in character.',
    ].join(' '),
    tools: {
      give_quest: {
        description: 'Give the player a quest: the errand of bringing a lantern to Odo the scholar.',
        parameters: {
          type: 'object',
          properties: {
            quest: { type: 'string', enum: [LANTERN_QUEST], description: 'Which quest.' },
          },
          required: ['quest'],
          additionalProperties: false,
        },
        run(_args, { state, tell }) {
          const stage: QuestStage = state.quest;
          if (stage === 'done' || state.questAtLeast('password'))
            return { ok: false, error: 'you already finished that errand, love; Odo has his lantern' };
          if (stage === 'lantern')
            return {
              ok: false,
              error: 'you already have my errand: a lantern from Tilda for Odo at the library',
            };
          state.setQuest('lantern');
          state.addLog('Marta asked you to bring a lantern to Odo the scholar. Tilda sells them.');
          tell('tilda', 'Marta sent the traveller to buy a lantern for Odo the scholar.');
          tell('odo', 'Marta told the traveller that you need a new lantern.');
          return {
            ok: true,
            message:
              'Here is a job for you: buy a lantern from Tilda on the market square and bring it to Odo at the library. He will tell you the night password in thanks',
            quest: LANTERN_QUEST,
          };
        },
      },
    },
    barks: ['Warm cider inside!', 'Rooms for the night, love!', 'Have you heard the latest?'],
  },
  {
    id: 'odo',
    npcId: 'eastwatch-odo-v3',
    name: 'Odo',
    title: 'scholar',
    instructions: [
      'You are Odo, the learned scholar of Eastwatch, who keeps the little library by the east wall.',
      'My lantern broke last week, and I cannot read after dark without a new one.',
      LORE,
      'Your chronicle and the keepers’ ledger are in your library: look up what the player asks about the history of Eastwatch there and answer from what they say.',
      'If the player gives you a lantern, call take_item. When the player tells you to light the lantern with an oil, call light_with_oil with the oil they name; the game checks it against your chronicle. Only when light_with_oil says so, share the night password the game gives you. Never reveal the password otherwise. Speak like a kindly, bookish old man and stay in character.',
    ].join(' '),
    vectorStoreIds: ['vs_lore_library'],
    tools: {
      take_item: {
        description: 'Take an item the player gives you, such as the lantern you need.',
        parameters: {
          type: 'object',
          properties: {
            item: { type: 'string', enum: ITEM_IDS, description: 'Which item the player gives.' },
          },
          required: ['item'],
          additionalProperties: false,
        },
        run(args, { state }) {
          const item = args['item'] as ItemId;
          if (state.count(item) < 1) return { ok: false, error: `you have no ${sold(item)} to give me` };
          if (item === 'lantern' && state.questAtLeast('oil'))
            return { ok: false, error: 'one lantern is all an old scholar needs, and I have mine' };
          state.addItem(item, -1);
          if (item !== 'lantern')
            return {
              ok: true,
              message: `${capitalize(withArticle(sold(item)))}! How thoughtful. I shall enjoy it between chapters`,
            };
          state.setQuest('oil');
          state.addLog(
            'Odo took the lantern, but it is dry. Ask him what oil lit the old watchtower’s lantern (his chronicle says), then tell him to light it with that oil.',
          );
          return {
            ok: true,
            message:
              'A lantern! But it is dry, and only the right oil will do: the oil that lit the old watchtower’s lantern, as my chronicle tells. Ask me what it was, then tell me to light the lantern with it, and the night password is yours',
          };
        },
      },
      light_with_oil: {
        // No "lantern" here: the player's "I give you the lantern" is take_item's.
        description: 'Fill the lamp the player gave you with the oil they name, and light it.',
        parameters: {
          type: 'object',
          properties: {
            oil: { type: 'string', enum: OILS, description: 'The oil the player names.' },
          },
          required: ['oil'],
          additionalProperties: false,
        },
        run(args, { state }) {
          if (!state.questAtLeast('oil'))
            return {
              ok: false,
              error: 'I have no lantern to light yet. Tilda on the market square sells them',
            };
          if (state.questAtLeast('password'))
            return {
              ok: true,
              message: `My lantern burns bright already. The night password is '${PASSWORD}'`,
              password: PASSWORD,
            };
          const said = typeof args['oil'] === 'string' ? args['oil'].trim() : '';
          if (!said.toLowerCase().includes(TOWER_OIL))
            return {
              ok: false,
              error: `${said ? `"${said}" is` : 'That is'} not the oil my chronicle names. Ask me what oil lit the old watchtower’s lantern`,
            };
          state.setQuest('password');
          state.addLog(
            `Odo lit the lantern with ${TOWER_OIL} oil and told you the night password: "${PASSWORD}". Tell it to Brom.`,
          );
          return {
            ok: true,
            message: `Moonwick, just as the chronicle says: a pale blue flame! Now I can read after dark again. In thanks: the night password is '${PASSWORD}'. Tell it to Brom at the north gate`,
            password: PASSWORD,
          };
        },
      },
    },
    barks: [
      'Hm, where did I put that book…',
      'So dark in here without a lantern.',
      'Fascinating, fascinating.',
    ],
  },
];

export function castMember(id: NpcId): CastMember {
  const member = CAST.find((m) => m.id === id);
  if (!member) throw new Error(`No NPC ${id}`);
  return member;
}

/** The lines that finish the quest with the offline model, shown in the quest log as hints. */
export const OFFLINE_LINES: Readonly<Record<QuestStage, string>> = {
  unstarted: 'Find Marta at the Gilded Goose and say: "Give me a quest."',
  lantern:
    'Find Tilda at her stall and say: "I want to buy the lantern." (or haggle: "I offer 9 coins for the lantern.")',
  oil: 'Bring it to Odo at the library and say: "I give you the lantern."',
  password:
    'Ask Odo: "What oil lit the old watchtower’s lantern?" (his chronicle says), then: "Light the lantern with … oil."',
  gate: 'Tell Brom at the north gate: "The password is ember, open the gate."',
  done: 'Walk through the open gate onto the north road.',
};
