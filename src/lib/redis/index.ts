// The Redis connection the health-redis config node owns and the nodes naming it in `state` share.
export { RedisConnection, FIRST_CONNECTION_WAIT_MS, reconnectDelayMs, type RedisState, type RedisCommands } from './connection';
export { COMMAND_TIMEOUT_MS, redisFailureText, safeMessage } from './failure';
export { REDIS_DEFAULTS, redisPropertiesSchema, describeRedisIssues, displayUrl, usesTls, type RedisProperties } from './properties';
