export type { AssistantStreamEvent, RunStatus, Thread, Usage } from '@parley/protocol';
export type { Citation } from './citations.js';
export { stripCitations } from './citations.js';
export type {
  Conversation,
  ConversationOptions,
  HistoryEntry,
  HistoryOptions,
  HistoryPage,
  SayOptions,
} from './conversation.js';
export type { DialogueErrorCode, DialogueErrorOptions } from './errors.js';
export { DialogueError, isDialogueError } from './errors.js';
export type { Facts } from './facts.js';
export type { GameTool, Npc, NpcDefinition, ToolContext, ToolDefinition } from './npc.js';
export type { Parley, ParleyOptions } from './parley.js';
export { createParley } from './parley.js';
export type { RunStreamEvent } from './parse-run-stream.js';
export { parseRunStream } from './parse-run-stream.js';
export type { KeyValueStore } from './store.js';
export { memoryStore } from './store.js';
export type { DialogueEvent, InterruptOptions, ToolCall, Turn } from './turn.js';
export type { SpeakOptions, SpokenClip, Voice, VoiceOptions } from './voice.js';
