/** Expeed (极动云): push protocol and handshake (push.ts), account and API (account.ts), times, errors. */
export * from './account';
export * from './errors';
export * from './push';
export * from './settings';
export * from './time';
export * from './config';
export * from './token-store';
export { sharedAccountState, type SharedAccountOptions } from './redis-state';
