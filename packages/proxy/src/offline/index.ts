export { createOfflineFetch, OFFLINE_BASE_URL, type OfflineFetchOptions } from './fetch.js';
export { type Persona, parsePersona, type Style } from './persona.js';
export { generateReply, type OfflineReply } from './reply.js';
export type { PlannedCall } from './tool-decisions.js';
