export type { CreatedGame, CreateGameOptions } from './create.js';
export { CreateGameError, createGame, packageName, TEMPLATE_DIR } from './create.js';
