/** Every Drizzle table of Tributary; drizzle-kit reads this file to generate migrations. */
export * from './engine.ts';
export * from './load.ts';
export * from './quality.ts';
