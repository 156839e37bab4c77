export type { AmbientBarkOptions, BarkSource } from './barks.js';
export { AmbientBarks, barkDuration } from './barks.js';
export type {
  AssistantInfo,
  ConsoleEvent,
  ConsoleModelOptions,
  ConsoleRunStatus,
  ModelPrice,
  NpcRecord,
  PriceTable,
  RunRecord,
  ToolRecord,
} from './console-model.js';
export { ConsoleModel, DEFAULT_PRICES, estimateCost, priceFor, runToJSON } from './console-model.js';
export type { DialogueBoxTheme } from './dialogue-box.js';
export type { ErrorLike } from './error-text.js';
export { inWorldErrorText } from './error-text.js';
export type { ParleyEventName } from './events.js';
export { ParleyEvents } from './events.js';
export type { AdvanceAction, FastForwardOptions } from './fast-forward.js';
export { advanceAction, FastForward } from './fast-forward.js';
export type { GlyphTiming } from './glyph-meter.js';
export { GlyphMeter } from './glyph-meter.js';
export { InputHistory } from './input-history.js';
export type { LiveLine, LiveLineState, LiveRegionOptions } from './live-region.js';
export { LiveRegion } from './live-region.js';
export type { BarkOptions, NpcOptions, NpcSprite } from './npc.js';
export { ParleyNpc } from './npc.js';
export type { NpcSignal } from './npc-state.js';
export { NpcState, nextNpcState } from './npc-state.js';
export type { Measure, Page, TextRange } from './pager.js';
export { Pager, pageText, paginate, wrapLines } from './pager.js';
export type {
  GlyphReport,
  ParleyDevtoolsHook,
  ParleyPluginEntry,
  ParleyPluginOptions,
} from './plugin.js';
export {
  installParley,
  PARLEY_PLUGIN_KEY,
  PARLEY_SCENE_MAPPING,
  ParleyPlugin,
  parleyPluginConfig,
  removeParleyPlugin,
} from './plugin.js';
export type { PushToTalkOptions, PushToTalkState } from './push-to-talk.js';
export { PushToTalk } from './push-to-talk.js';
export type { Point } from './range.js';
export { isWithin, RangeTracker } from './range.js';
export type { SplitReply } from './suggestions.js';
export {
  MAX_SUGGESTIONS,
  parseSuggestReplies,
  SUGGEST_REPLIES_TOOL,
  SUGGESTIONS_INSTRUCTIONS,
  splitSuggestions,
  suggestRepliesTool,
} from './suggestions.js';
export type { TypewriterOptions } from './typewriter.js';
export { Typewriter } from './typewriter.js';
export type { NpcVoiceOptions, VoicedNpc } from './voice.js';
export { NpcVoice } from './voice.js';
