// The Redis connection the health-redis config node owns and the nodes naming it in `state` share.
export { RedisConnection, COMMAND_TIMEOUT_MS, FIRST_CONNECTION_WAIT_MS, reconnectDelayMs, safeMessage, type RedisState, type RedisCommands } from './connection';
export { REDIS_DEFAULTS, redisPropertiesSchema, describeRedisIssues, displayUrl, usesTls, type RedisProperties } from './properties';
