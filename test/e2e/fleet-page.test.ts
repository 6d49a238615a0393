import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir, readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { planRollout } from '../../src/rollout/planner.js';
import { launchChromium, type Browser, type Page } from '../helpers/chromium.js';
import { CLI, createDeployWorld, runCli, type DeployWorld } from '../helpers/deploy-world.js';
import { dataOf } from '../helpers/cli-json.js';
import { fleetSetYaml, isQuarantined, pushFleetPackage, readStatuses, startFleet, waitFor, type Fleet } from '../helpers/fleet.js';

// The fleet page in a real browser (Debian's chromium, driven over the DevTools protocol) against three real
// agent processes: it follows a rollout by itself, shows the failed canary, the quarantine and the machines
// that wait, reads on a phone, and `status --html` writes the same page as a file. Screenshots are kept.

const MACHINES = ['m1', 'm2', 'm3'];
const ARTIFACTS = resolve('test-artifacts', 'fleet-page');

/** Starts `flotilla serve` as a process and returns its URL once it listens. */
async function startServe(world: DeployWorld): Promise<{ url: string; child: ChildProcess }> {
  const child = spawn(process.execPath, [CLI, 'serve', '--listen', '127.0.0.1:0', '--repo', world.work.dir, '--store', world.storeUrl, '--interval', '500ms', '--cache', '300ms', '--json'], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, FLOTILLA_LOG_LEVEL: 'warn' },
  });
  let err = '';
  child.stderr?.on('data', (c: Buffer) => (err += c.toString()));
  const url = await new Promise<string>((done, fail) => {
    let out = '';
    child.stdout?.on('data', (c: Buffer) => {
      out += c.toString();
      const line = out.split('\n')[0];
      if (out.includes('\n') && line) done(dataOf<{ url: string }>(line).url);
    });
    child.once('exit', (code) => fail(new Error(`serve exited ${code}: ${err}`)));
  });
  return { url, child };
}

interface Row {
  machine: string;
  state: string;
  text: string;
}

const rowsOf = (page: Page): Promise<Row[]> =>
  page.evaluate<Row[]>(`[...document.querySelectorAll('section[data-set="app"] tr[data-machine]')].map((tr) => ({ machine: tr.dataset.machine, state: tr.dataset.state, text: tr.innerText }))`);

describe('the fleet page in Chromium, against a live 3-machine fleet', () => {
  let world: DeployWorld;
  let fleet: Fleet | undefined;
  let serve: { url: string; child: ChildProcess } | undefined;
  let browser: Browser | undefined;

  beforeAll(async () => {
    await mkdir(ARTIFACTS, { recursive: true });
    world = await createDeployWorld({ prefix: 'fleet-page' });
    const v1 = await pushFleetPackage(world, 'v1', true);
    await world.commit({ 'sets/app.yaml': fleetSetYaml(v1, world.platform, MACHINES, 2) }, 'app v1');
    fleet = await startFleet(world, MACHINES);
    const converged = async (): Promise<boolean> => {
      const st = await readStatuses(world.storeUrl, 'app');
      return MACHINES.every((m) => st.get(m)?.currentDigest === v1 && st.get(m)?.state === 'Ready');
    };
    if (!(await waitFor(converged, 180_000))) throw new Error('the fleet did not converge on v1');
    serve = await startServe(world);
    browser = await launchChromium();
  }, 300_000);

  afterAll(async () => {
    await browser?.close();
    if (serve && serve.child.exitCode === null) serve.child.kill('SIGKILL');
    await fleet?.stop();
    await world?.close();
  });

  it('follows a failing rollout by itself: the canary failed, the digest quarantined, the others waiting', { timeout: 300_000 }, async () => {
    const page = await browser!.newPage({ width: 1280, height: 900 });
    await page.goto(serve!.url);
    expect(await page.evaluate<string>(`document.querySelector('section[data-set="app"]').dataset.health`)).toBe('converged');
    expect((await rowsOf(page)).map((r) => r.state)).toEqual(['Ready', 'Ready', 'Ready']);
    await page.screenshot(join(ARTIFACTS, 'desktop-converged.png'));
    // Marks this document: if the page reloaded instead of updating itself, the mark would be gone.
    await page.evaluate(`window.notReloaded = true`);

    const bad = await pushFleetPackage(world, 'v2-bad', false);
    await world.commit({ 'sets/app.yaml': fleetSetYaml(bad, world.platform, MACHINES, 2) }, 'app v2 (broken)');
    const canary = planRollout({ set: 'app', target: bad, machines: MACHINES, settings: { canary: 1, batchSize: { kind: 'count', count: 2 } } }).batches[0]![0]!;
    expect(await waitFor(() => isQuarantined(world.storeUrl, 'app', bad), 120_000)).toBe(true);
    const others = MACHINES.filter((m) => m !== canary);
    const othersWaiting = async (): Promise<boolean> => {
      const st = await readStatuses(world.storeUrl, 'app');
      return st.get(canary)?.state === 'RolledBack' && others.every((m) => st.get(m)?.state === 'Waiting');
    };
    expect(await waitFor(othersWaiting, 60_000)).toBe(true);

    const shown = `(() => { const s = document.querySelector('section[data-set="app"]'); return s && s.dataset.health === 'failed' && s.querySelectorAll('tr[data-state="Waiting"]').length === 2; })()`;
    expect(await page.waitFor(shown, 30_000)).toBe(true);
    expect(await page.evaluate<boolean>('window.notReloaded === true')).toBe(true);
    const rows = await rowsOf(page);
    const canaryRow = rows.find((r) => r.machine === canary)!;
    expect(canaryRow.state).toBe('RolledBack');
    expect(canaryRow.text).toContain('HealthCheckFailed');
    for (const r of rows.filter((x) => x.machine !== canary)) {
      expect(r.state).toBe('Waiting');
      expect(r.text).toContain('Quarantined');
    }
    // Readable without colour: the failure is a word and a red row, not a colour alone.
    expect(await page.evaluate<string>(`document.querySelector('tr[data-machine="${canary}"]').className`)).toBe('tone-bad');
    const text = await page.evaluate<string>(`document.querySelector('section[data-set="app"]').innerText`);
    expect(text).toContain(`Quarantined ${bad}`);
    expect(text).toContain(`flotilla unquarantine app ${bad}`);
    expect(text).toMatch(/canary: ✖ failed \(/);
    expect(text).toMatch(/batch 1: ◷ waiting \(/);
    expect(await page.evaluate<string>(`document.title`)).toBe('failed · fleet · flotilla');
    // The timeline is the machines' signed deployment logs, appended at the end of each tick.
    const logged = `document.querySelector('ol.timeline')?.innerText.includes(${JSON.stringify(`app/${canary}: rolled back ${bad} → `)}) === true`;
    expect(await page.waitFor(logged, 30_000)).toBe(true);
    const events = await page.evaluate<string>(`document.querySelector('ol.timeline').innerText`);
    expect(events).toContain(`app/${canary}: quarantined ${bad}: HealthCheckFailed`);
    expect(events).toMatch(new RegExp(`app/${canary}: rolled back ${bad} → sha256:[0-9a-f]{64}: HealthCheckFailed`));
    for (const m of others) expect(events).toContain(`app/${m}: switched nothing → `);
    expect(events).not.toContain('UNVERIFIED');
    await page.screenshot(join(ARTIFACTS, 'desktop-failed.png'));

    const phone = await browser!.newPage({ width: 390, height: 844, mobile: true, scale: 2 });
    await phone.goto(serve!.url);
    // Nothing wider than the phone: neither the page nor any scroll box inside it.
    expect(await phone.evaluate<boolean>(`document.documentElement.scrollWidth <= window.innerWidth`)).toBe(true);
    expect(await phone.evaluate<string[]>(`[...document.querySelectorAll('.scroll')].filter((e) => e.scrollWidth > e.clientWidth).map((e) => e.innerText.slice(0, 40))`)).toEqual([]);
    expect(await phone.evaluate<string>(`getComputedStyle(document.querySelector('tr[data-machine]')).display`)).toBe('block');
    expect(await phone.evaluate<string>(`getComputedStyle(document.querySelector('td[data-label="State"]'), '::before').content`)).toBe('"State: "');
    await phone.screenshot(join(ARTIFACTS, 'phone-failed.png'));

    // The same page as a file, for CI: no script, same content.
    const file = join(ARTIFACTS, 'status.html');
    expect((await runCli(['status', '--repo', world.work.dir, '--store', world.storeUrl, '--html', file])).code).toBe(1);
    expect(await readFile(file, 'utf8')).not.toContain('<script');
    await page.goto(pathToFileURL(file).href);
    expect((await rowsOf(page)).map((r) => r.state).sort()).toEqual(['RolledBack', 'Waiting', 'Waiting']);
    process.stdout.write(`fleet page screenshots and snapshot: ${ARTIFACTS}\n`);

    serve!.child.kill('SIGTERM');
    expect(await new Promise((done) => serve!.child.once('exit', (code) => done(code)))).toBe(0);
  });
});
