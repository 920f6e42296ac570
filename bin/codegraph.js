#!/usr/bin/env node
// The `codegraph` command. Sources are TypeScript run through tsx's loader, so the installed
// command and the test suite execute the same files.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../daemon/cli.ts');
process.exitCode = await main(process.argv.slice(2));
