#!/usr/bin/env node
// Generates the Prisma client into src/generated/prisma (gitignored), offline.
//
// `prisma generate` does not run the schema engine, but the CLI first makes sure its binary
// is present and, where it is missing (air-gapped machines), tries to download it and fails.
// Pointing PRISMA_SCHEMA_ENGINE_BINARY at any existing file skips that; node itself is one.
// Where the variable is already set (a real engine), it is left alone. Safe to re-run.
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const packageDir = dirname(dirname(fileURLToPath(import.meta.url)));
const cli = createRequire(import.meta.url).resolve('prisma/build/index.js');
const env = { ...process.env };
env.PRISMA_SCHEMA_ENGINE_BINARY ??= process.execPath;
env.PRISMA_HIDE_UPDATE_MESSAGE ??= '1';
env.CHECKPOINT_DISABLE ??= '1'; // no telemetry request

const result = spawnSync(process.execPath, [cli, 'generate', ...process.argv.slice(2)], {
  cwd: packageDir, // where prisma.config.ts is
  env,
  stdio: 'inherit',
});
process.exit(result.status ?? 1);
