/** @module Test entry for the CLI: runs src/cli/main.ts under tsx, so CLI tests need no build step. */
import { main } from '../../src/cli/main.js';

process.exitCode = await main(process.argv);
