#!/usr/bin/env node
import { relative } from 'node:path';
import { CreateGameError, createGame } from './create.js';

const USAGE = `Usage: npm create parley-game@latest [folder]

Makes a Phaser 4 + Vite + TypeScript game with one talking NPC in [folder] (default: parley-game).`;

/** `npm create parley-game@latest [folder]`: makes the game, then says what to type next. */
async function main(args: string[]): Promise<void> {
  if (args.includes('--help') || args.includes('-h')) {
    console.log(USAGE);
    return;
  }
  const folder = args.find((arg) => !arg.startsWith('-')) ?? 'parley-game';
  const game = await createGame(folder);
  const where = relative(process.cwd(), game.dir) || '.';
  console.log(`
Made ${game.name} in ${game.dir}. Next:

  cd ${where}
  npm install
  npm run dev      # the Parley proxy and the game together; open the URL Vite prints

Brom, the gate guard, answers with the proxy's offline model (no key needed). For a real model copy
.env.example to .env and set OPENAI_API_KEY.`);
}

main(process.argv.slice(2)).catch((error: unknown) => {
  const message = error instanceof CreateGameError || error instanceof Error ? error.message : String(error);
  console.error(`create-parley-game: ${message}`);
  process.exit(1);
});
