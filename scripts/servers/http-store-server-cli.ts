import { startHttpStoreServer } from './http-store-server.js';

// `node dist/scripts/servers/http-store-server-cli.js ROOT [--writable]`: serves a directory store in its own
// process (so a benchmark's client and server do not share one event loop), prints its URL as the first
// line of stdout, and exits on SIGTERM or SIGINT.
async function main(): Promise<void> {
  const [root, flag] = process.argv.slice(2);
  if (root === undefined) {
    process.stderr.write('usage: http-store-server-cli ROOT [--writable]\n');
    process.exitCode = 2;
    return;
  }
  const server = await startHttpStoreServer(root, { writable: flag === '--writable' });
  process.stdout.write(`${server.url}\n`);
  const stop = (): void => void server.close().then(() => process.exit(0));
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}

void main();
