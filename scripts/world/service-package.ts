import { chmod, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

// A tiny real service: an HTTP server that reports its version, and an activation script that stops the
// previous instance (pid file) and starts this one detached (setsid), so it outlives the activation.
const SERVER_JS = `
const http = require('node:http');
const fs = require('node:fs');
const path = require('node:path');
const version = fs.readFileSync(path.join(__dirname, 'VERSION'), 'utf8').trim();
const failing = fs.existsSync(path.join(__dirname, 'FAIL'));
const server = http.createServer((req, res) => {
  if (req.url === '/healthz') { res.statusCode = failing ? 500 : 200; res.end(failing ? 'broken' : 'ok'); return; }
  res.end(version + '\\n');
});
server.listen(Number(process.env.SERVICE_PORT), '127.0.0.1');
process.on('SIGTERM', () => server.close(() => process.exit(0)));
`;

const ACTIVATE_SH = `#!/bin/sh
# Stops the running instance of this service (if any), then starts this generation's server detached.
set -eu
run="$SERVICE_RUN_DIR"
mkdir -p "$run"
if [ -f "$run/pid" ]; then
  old=$(cat "$run/pid")
  kill "$old" 2>/dev/null || true
  while kill -0 "$old" 2>/dev/null; do sleep 0.05; done
fi
here=$(cd "$(dirname "$0")/.." && pwd)
setsid node "$here/server.js" >>"$run/log" 2>&1 </dev/null &
echo $! > "$run/pid"
echo "activated $FLOTILLA_DIGEST in $FLOTILLA_GENERATION"
`;

/** Writes the service package source for `version` into `dir`; `failHealth` makes /healthz answer 500. */
export async function writeServicePackage(dir: string, version: string, options: { failHealth?: boolean } = {}): Promise<void> {
  await mkdir(join(dir, 'bin'), { recursive: true });
  await writeFile(join(dir, 'server.js'), SERVER_JS);
  await writeFile(join(dir, 'VERSION'), `${version}\n`);
  // An asset above the 2 KiB inline limit, so fetching a version moves real object bytes.
  await mkdir(join(dir, 'public'), { recursive: true });
  await writeFile(join(dir, 'public', 'asset.bin'), Buffer.alloc(32 * 1024, `asset ${version} `));
  await writeFile(join(dir, 'bin', 'activate'), ACTIVATE_SH);
  await chmod(join(dir, 'bin', 'activate'), 0o755);
  if (options.failHealth) await writeFile(join(dir, 'FAIL'), 'health answers 500\n');
}
