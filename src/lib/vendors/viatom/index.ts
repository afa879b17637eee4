/** Viatom (乐普): push protocol (push.ts), units, phone numbers, open API client, account. */
export * from './account';
export * from './client';
export * from './phone';
export * from './push';
export * from './units';
export * from './auth-options';
