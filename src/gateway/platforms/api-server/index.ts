/**
 * The API server's front door: `createApiServer` (the gateway's `api-server` platform adapter) and the
 * types the composition root needs. Route modules, SSE and error mapping stay internal.
 */
export { ApiServer, type ApiServerOptions, createApiServer } from './api-server.ts';
export { ApiError, type ApiErrorBody, toApiError } from './errors.ts';
export { type AgentProfile, DEFAULT_PROFILE_ID, ProfileResolver } from './profiles.ts';
export { isLoopbackAddress, isLoopbackBind, isLoopbackHost, UnsafeBindError } from './security.ts';
