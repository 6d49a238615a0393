#!/usr/bin/env node
// Plain `node`, no V8 flag: any flag on this line changes the hash V8 checks code caches against, and Node
// then compiles its own built-in modules from source on every start (~30-60 ms of a no-op fetch). The young
// generation a cold fetch wants small is set at run time instead (young-generation.ts, docs/performance.md).
//
// The bin's entry (scripts/bundle-cli.mjs bundles it as dist/bin/flotilla.js). `flotilla --help` and
// `flotilla VERB --help` are answered from the help table taken from the CLI at build time, without loading
// the CLI itself (a start then costs little more than Node's); everything else loads main.ts, from the
// bundle of the verb when it has one of its own (`fetch`: scripts/bundle-cli.mjs), and runs it.
// This module and main.ts are the only ones that set an exit code.
import { takeDeferredCaCerts, trustDeferredCaCerts } from '../util/deferred-ca-certs.js';
import { HELP_TABLE } from './help-table.js';
import { loadMain } from './load-main.js';
import { quickHelp } from './quick-help.js';

// Before anything can start a child process: the launcher's deferred NODE_EXTRA_CA_CERTS back in the env.
takeDeferredCaCerts();

const quick = HELP_TABLE === undefined ? undefined : quickHelp(process.argv.slice(2), HELP_TABLE);
if (quick === undefined) {
  // Every TLS client of the CLI then trusts the deferred file, read at its first connection (help makes none).
  trustDeferredCaCerts();
  void loadMain(process.argv[2]).then(({ main }) => main());
} else {
  // As main does (broken-pipe.ts, not imported: it would be a chunk of its own, shared with main): a reader
  // that went away (`flotilla --help | head -1`) is exit 141, not a stack trace.
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code !== 'EPIPE') throw err;
    process.exitCode = 141;
  });
  process.exitCode = quick.exitCode;
  process.stdout.write(quick.text);
}
