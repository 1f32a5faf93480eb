/** Kept equal to package.json "version" (src/server/version.spec.ts checks). */
export const VERSION = '0.1.0';
