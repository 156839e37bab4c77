export type { Health } from './constants.js';
export {
  ASSISTANTS_BETA_HEADER,
  ASSISTANTS_BETA_VALUE,
  DEFAULT_PROXY_PORT,
  IdPrefix,
  OFFLINE_MODEL,
} from './constants.js';
export type { ErrorBody, ErrorKind, ErrorObject, ErrorType } from './errors.js';
export { ERROR_KINDS, ErrorCode, errorKind } from './errors.js';
export type { AssistantStreamEvent, StreamEventName } from './events.js';
export {
  DONE_DATA,
  LAST_EVENT_ID_HEADER,
  RESUME_QUERY_PARAM,
  SHOWN_CHARACTERS_PARAM,
  StreamEvent,
} from './events.js';
export type {
  Assistant,
  AssistantTool,
  DeletedObject,
  FileCitationAnnotation,
  FileSearchResult,
  FileSearchToolCall,
  FunctionDefinition,
  FunctionToolCall,
  JsonSchema,
  ListPage,
  Message,
  MessageContent,
  MessageDeltaEvent,
  MessageStatus,
  Metadata,
  RequiredAction,
  ResponseFormat,
  Run,
  RunErrorCode,
  RunStatus,
  RunStep,
  RunStepDeltaEvent,
  RunStepStatus,
  StepDetails,
  StepToolCall,
  Thread,
  ToolChoice,
  TruncationStrategy,
  Usage,
} from './objects.js';
export { RUN_STATUSES, TERMINAL_RUN_STATUSES } from './objects.js';
export type { ModelPrice } from './prices.js';
export { LIST_PRICES } from './prices.js';
