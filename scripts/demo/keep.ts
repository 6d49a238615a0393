import { chmod, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Machine } from './fleet.js';
import type { Narrator } from './narrator.js';

/**
 * For --keep: writes ROOT/stop.sh (stop the agents, then the services, then remove ROOT) and prints the
 * commands to poke the running fleet.
 */
export async function leaveFleetRunning(root: string, cliPath: string, machines: Machine[], agentPids: number[], n: Narrator): Promise<void> {
  const stop = join(root, 'stop.sh');
  await writeFile(
    stop,
    `#!/bin/sh
# Stops the demo fleet left running by \`npm run demo -- --keep\` and removes its directory.
kill ${agentPids.join(' ')} 2>/dev/null
for pid in ${agentPids.join(' ')}; do while kill -0 "$pid" 2>/dev/null; do sleep 0.1; done; done
for m in ${machines.map((m) => m.name).join(' ')}; do
  [ -f '${root}'/machines/$m/run/pid ] && kill "$(cat '${root}'/machines/$m/run/pid)" 2>/dev/null
done
rm -rf '${root}'
echo "demo fleet stopped"
`,
  );
  await chmod(stop, 0o755);
  n.step('The fleet keeps running (--keep)');
  n.say('Poke it:');
  n.command(`alias flotilla='node ${cliPath}'`);
  n.command(`cd ${root}`);
  n.command('flotilla status --repo deploy --store store --watch');
  for (const m of machines) n.command(`curl -s http://127.0.0.1:${m.port}/`);
  n.command('tail -f machines/web-1/agent.log');
  n.command('flotilla generations web --state machines/web-1/state');
  n.command('git -C deploy log --oneline   # commit with `git -C deploy commit -S`; the agents poll every second');
  n.say('Stop it and remove everything:');
  n.command(`sh ${stop}`);
}
