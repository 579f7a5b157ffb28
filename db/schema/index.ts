/** Every Drizzle table of Tributary; drizzle-kit reads this file to generate migrations. */
export * from './audit-events.ts';
export * from './callbacks.ts';
export * from './credit_platform.ts';
export * from './currency.ts';
export * from './dashboard-sessions.ts';
export * from './dashboard-users.ts';
export * from './engine.ts';
export * from './extract.ts';
export * from './file-effects.ts';
export * from './load.ts';
export * from './quality.ts';
