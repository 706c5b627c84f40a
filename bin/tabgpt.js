#!/usr/bin/env node
// Entry point for `npx tabgpt` / `npm run train`: registers tsx so the TypeScript
// sources run directly in Node (no build step), then hands over to the CLI.
import { register } from 'tsx/esm/api';
register();
await import('../src/cli/main.ts');
