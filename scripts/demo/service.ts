import { chmod, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

// The demo's service: a Node HTTP server that says which machine it runs on and which version it is.
// Each "machine" is a directory; the agent runs with HOME set to it, and the machine's own settings
// (port, name, the node binary) live in $HOME/service.env, the way /etc/default/web would on a real host.
const SERVER_JS = `'use strict';
const http = require('node:http');
const fs = require('node:fs');
const path = require('node:path');
const version = fs.readFileSync(path.join(__dirname, 'VERSION'), 'utf8').trim();
// v2 ships with this marker: its health endpoint answers 500, so the canary's health check fails.
const broken = fs.existsSync(path.join(__dirname, 'BROKEN'));
const server = http.createServer((req, res) => {
  if (req.url === '/healthz') {
    res.statusCode = broken ? 500 : 200;
    res.end(broken ? 'broken\\n' : 'ok\\n');
    return;
  }
  res.end('web ' + version + ' on ' + process.env.MACHINE + '\\n');
});
server.listen(Number(process.env.PORT), '127.0.0.1');
process.on('SIGTERM', () => server.close(() => process.exit(0)));
`;

const ACTIVATE_SH = `#!/bin/sh
# Activation: stop this machine's running instance (pid file), then start this generation's server
# detached (setsid), so it outlives the activation command. Idempotent: a rollback runs it again.
set -eu
. "$HOME/service.env"
run="$HOME/run"
mkdir -p "$run"
if [ -f "$run/pid" ]; then
  old=$(cat "$run/pid")
  kill "$old" 2>/dev/null || true
  i=0
  while kill -0 "$old" 2>/dev/null && [ "$i" -lt 100 ]; do sleep 0.05; i=$((i + 1)); done
fi
here=$(cd "$(dirname "$0")/.." && pwd)
PORT="$PORT" MACHINE="$MACHINE" setsid "$NODE" "$here/server.js" >>"$run/service.log" 2>&1 </dev/null &
echo $! > "$run/pid"
echo $! >> "$run/all-pids"
echo "started web $(cat "$here/VERSION") (pid $!) on port $PORT"
`;

const HEALTH_SH = `#!/bin/sh
# Health: GET /healthz on this machine's port must answer 2xx.
. "$HOME/service.env"
exec "$NODE" -e "fetch('http://127.0.0.1:$PORT/healthz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"
`;

/** Writes the service's source tree for `version` into `dir`; `broken` makes its /healthz answer 500. */
export async function writeServiceSource(dir: string, version: string, broken: boolean): Promise<void> {
  await mkdir(join(dir, 'bin'), { recursive: true });
  await writeFile(join(dir, 'server.js'), SERVER_JS);
  await writeFile(join(dir, 'VERSION'), `${version}\n`);
  await writeFile(join(dir, 'bin', 'activate'), ACTIVATE_SH);
  await writeFile(join(dir, 'bin', 'health'), HEALTH_SH);
  await chmod(join(dir, 'bin', 'activate'), 0o755);
  await chmod(join(dir, 'bin', 'health'), 0o755);
  if (broken) await writeFile(join(dir, 'BROKEN'), 'this version answers 500 on /healthz\n');
}

/** Writes a machine's own service settings ($HOME/service.env of its agent). */
export async function writeMachineServiceEnv(machineDir: string, machine: string, port: number): Promise<void> {
  const node = `'${process.execPath.replace(/'/g, `'\\''`)}'`;
  await writeFile(join(machineDir, 'service.env'), `MACHINE=${machine}\nPORT=${port}\nNODE=${node}\n`);
}
