export { createCaller, Caller, DEFAULT_PENDING, type CallerOptions, type ProxyOptions } from './caller.js';
export { createDispatcher, Dispatcher, exportTable, type DispatcherOptions, type ExportTable, type ServedModule } from './dispatcher.js';
export type { Remote, RemoteFunction, RemoteMethods } from './types.js';
