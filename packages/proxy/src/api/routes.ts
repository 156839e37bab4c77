import { Router } from '../http/router.js';
import { createKnowledge } from '../knowledge/service.js';
import { adminRoutes } from './admin.js';
import { assistantRoutes } from './assistants.js';
import { audioRoutes } from './audio.js';
import { chatRoutes } from './chat.js';
import type { Handler, RouteMeta, Services } from './context.js';
import { embeddingRoutes } from './embeddings.js';
import { fileRoutes } from './files.js';
import { healthRoutes } from './health.js';
import { messageRoutes } from './messages.js';
import { runRoutes } from './runs.js';
import { sessionRoutes } from './sessions.js';
import { stepRoutes } from './steps.js';
import { threadRoutes } from './threads.js';
import { vectorStoreRoutes } from './vector-stores.js';

/**
 * The whole Assistants v2 surface plus chat and audio pass-through, sessions, usage, admin, health and models.
 * Order matters where two paths have the same shape: the first route added wins (see `threadRoutes`).
 */
export function createRoutes(services: Services): Router<Handler, RouteMeta> {
  const router = new Router<Handler, RouteMeta>();
  // Files, vector stores and their index, sharing the store's database (the run engine searches it too;
  // messages attach files to their thread's store).
  const knowledge = services.knowledge ?? createKnowledge(services);
  const withKnowledge = { ...services, knowledge };
  for (const add of [
    healthRoutes,
    sessionRoutes,
    adminRoutes,
    assistantRoutes,
    threadRoutes,
    messageRoutes,
    runRoutes,
    stepRoutes,
    chatRoutes,
    audioRoutes,
  ]) {
    add(router, withKnowledge);
  }
  fileRoutes(router, services, knowledge);
  vectorStoreRoutes(router, services, knowledge);
  embeddingRoutes(router, services);
  return router;
}
