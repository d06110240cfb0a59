#!/usr/bin/env node
// Entry point for the `herald` command. Runs the compiled build when one exists (an installed package),
// otherwise the TypeScript sources directly through Node's type stripping (a checkout).
import { existsSync } from 'node:fs';

const built = new URL('../dist/cli/main.js', import.meta.url);
const entry = existsSync(built) ? built : new URL('../src/cli/main.ts', import.meta.url);
const { main } = await import(entry.href);
await main(process.argv);
