#!/usr/bin/env node
// `deaddrop`: the CLI process. The only CLI module with side effects at import.
import { processIo } from './io.js';
import { runCli } from './run-cli.js';

// `deaddrop list | head -1` closes stdout early: that is not an error worth a stack trace.
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  throw error;
});

process.exitCode = await runCli(process.argv.slice(2), processIo());
