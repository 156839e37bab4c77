// The quest log's words: the current objective and the exact line that works with the offline model.
import type { GameState } from './state.ts';

export interface Objective {
  title: string;
  /** What to do next. */
  goal: string;
  /** A line that works with the built-in offline model (a real model understands any phrasing). */
  say?: { to: string; line: string };
  done: boolean;
}

export const QUEST_TITLE = 'A Lantern for the Scholar';

export function currentObjective(state: GameState): Objective {
  const title = QUEST_TITLE;
  switch (state.quest) {
    case 'unstarted':
      return {
        title: 'Get out of Eastwatch',
        goal: 'The north gate is shut for the night. Marta at the Gilded Goose knows everyone’s business.',
        say: { to: 'Marta', line: 'Give me a quest.' },
        done: false,
      };
    case 'lantern':
      return state.count('lantern') > 0
        ? {
            title,
            goal: 'Bring the lantern to Odo at the library (north-east, by the wall).',
            say: { to: 'Odo', line: 'I give you the lantern.' },
            done: false,
          }
        : {
            title,
            goal: 'Buy a lantern from Tilda at her stall on the market square. Haggling is welcome.',
            say: { to: 'Tilda', line: 'I want to buy the lantern.' },
            done: false,
          };
    case 'oil':
      return {
        title,
        goal: 'Odo’s new lantern is dry. His chronicle names the oil that lit the old watchtower’s lantern: ask him, then tell him to light the lantern with that oil.',
        say: { to: 'Odo', line: "What oil lit the old watchtower's lantern?" },
        done: false,
      };
    case 'password':
      return {
        title,
        goal: 'Odo told you the night password: “ember”. Tell it to Brom at the north gate.',
        say: { to: 'Brom', line: 'The password is ember, open the gate.' },
        done: false,
      };
    case 'gate':
      return { title, goal: 'The gate is open. Walk through it onto the north road.', done: false };
    case 'done':
      return { title, goal: 'You left Eastwatch by the north road. Well done!', done: true };
  }
}

/** Haggling tip shown while buying. */
export const HAGGLE_TIP = 'Haggle: “I offer 9 coins for the lantern.”';
