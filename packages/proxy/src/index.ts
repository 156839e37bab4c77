export type { Proxy, ProxyOptions } from './app.js';
export { createProxy } from './app.js';
export type { ProxyConfig, UpstreamConfig, UpstreamKind } from './config.js';
export { ConfigError, loadConfig } from './config.js';
export { ProxyError } from './errors.js';
export type { Logger } from './log.js';
export { createOfflineFetch } from './offline/index.js';
export type { Store } from './store/types.js';
