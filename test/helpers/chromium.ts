import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable, Writable } from 'node:stream';

// A small Chrome DevTools Protocol client over --remote-debugging-pipe (fd 3: commands in, fd 4: replies and
// events out, each message JSON ended by a NUL byte). Debian's chromium speaks it, and it needs no npm
// package, no WebSocket and no port: only this process can drive the browser it started.

/** A browser tab of a given size. */
export interface Page {
  /** Navigates and waits for the load to finish. */
  goto(url: string): Promise<void>;
  /** Evaluates `expression` in the page (promises awaited) and returns its JSON value. */
  evaluate<T>(expression: string): Promise<T>;
  /** Polls `expression` until it is truthy or `timeoutMs` passes; returns whether it became truthy. */
  waitFor(expression: string, timeoutMs: number): Promise<boolean>;
  /** Writes a PNG of the whole page to `file`. */
  screenshot(file: string): Promise<void>;
}

/** A running headless Chromium. */
export interface Browser {
  newPage(viewport: { width: number; height: number; mobile?: boolean; scale?: number }): Promise<Page>;
  close(): Promise<void>;
}

interface Reply {
  id?: number;
  sessionId?: string;
  method?: string;
  result?: Record<string, unknown>;
  error?: { message: string };
}

const CALL_DEADLINE_MS = 30_000;

/** Starts `chromium` headless (with --no-sandbox: tests run as root). Fails when it is not installed. */
export async function launchChromium(): Promise<Browser> {
  const profile = await mkdtemp(join(tmpdir(), 'flotilla-chromium-'));
  const child: ChildProcess = spawn(
    'chromium',
    ['--headless', '--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--no-first-run', '--no-default-browser-check', '--disable-extensions', '--hide-scrollbars', '--remote-debugging-pipe', `--user-data-dir=${profile}`, 'about:blank'],
    { stdio: ['ignore', 'ignore', 'pipe', 'pipe', 'pipe'] },
  );
  let stderr = '';
  child.stderr?.on('data', (c: Buffer) => (stderr = (stderr + c.toString()).slice(-4000)));
  const input = child.stdio[3] as Writable;
  const output = child.stdio[4] as Readable;
  const pending = new Map<number, { done: (r: Record<string, unknown>) => void; fail: (e: Error) => void }>();
  let nextId = 1;
  let buffer = Buffer.alloc(0);
  output.on('data', (chunk: Buffer) => {
    buffer = Buffer.concat([buffer, chunk]);
    for (let end = buffer.indexOf(0); end >= 0; end = buffer.indexOf(0)) {
      const msg = JSON.parse(buffer.subarray(0, end).toString('utf8')) as Reply;
      buffer = buffer.subarray(end + 1);
      const waiter = msg.id === undefined ? undefined : pending.get(msg.id);
      if (waiter === undefined || msg.id === undefined) continue;
      pending.delete(msg.id);
      if (msg.error) waiter.fail(new Error(`CDP: ${msg.error.message}`));
      else waiter.done(msg.result ?? {});
    }
  });
  child.once('exit', (code) => {
    for (const w of pending.values()) w.fail(new Error(`chromium exited (${code}): ${stderr}`));
    pending.clear();
  });

  function call(method: string, params: Record<string, unknown> = {}, sessionId?: string): Promise<Record<string, unknown>> {
    const id = nextId++;
    return new Promise((done, fail) => {
      const timer = setTimeout(() => {
        pending.delete(id);
        fail(new Error(`CDP ${method}: no reply in ${CALL_DEADLINE_MS} ms; chromium said: ${stderr}`));
      }, CALL_DEADLINE_MS);
      pending.set(id, { done: (r) => (clearTimeout(timer), done(r)), fail: (e) => (clearTimeout(timer), fail(e)) });
      input.write(`${JSON.stringify({ id, method, params, ...(sessionId ? { sessionId } : {}) })}\0`);
    });
  }

  await call('Browser.getVersion');
  return {
    async newPage(viewport) {
      const { targetId } = (await call('Target.createTarget', { url: 'about:blank' })) as { targetId: string };
      const { sessionId } = (await call('Target.attachToTarget', { targetId, flatten: true })) as { sessionId: string };
      await call('Emulation.setDeviceMetricsOverride', { width: viewport.width, height: viewport.height, deviceScaleFactor: viewport.scale ?? 1, mobile: viewport.mobile ?? false }, sessionId);
      const evaluate = async <T>(expression: string): Promise<T> => {
        const r = (await call('Runtime.evaluate', { expression, returnByValue: true, awaitPromise: true }, sessionId)) as { result: { value?: unknown }; exceptionDetails?: { text: string; exception?: { description?: string } } };
        if (r.exceptionDetails) throw new Error(`in the page: ${r.exceptionDetails.exception?.description ?? r.exceptionDetails.text}`);
        return r.result.value as T;
      };
      const waitFor = async (expression: string, timeoutMs: number): Promise<boolean> => {
        const end = Date.now() + timeoutMs;
        for (;;) {
          if (await evaluate<boolean>(`Boolean(${expression})`)) return true;
          if (Date.now() > end) return false;
          await new Promise((r) => setTimeout(r, 200));
        }
      };
      return {
        evaluate,
        waitFor,
        async goto(url) {
          await call('Page.navigate', { url }, sessionId);
          if (!(await waitFor(`location.href === ${JSON.stringify(url)} && document.readyState === 'complete'`, 30_000))) throw new Error(`${url} did not load in 30 s`);
        },
        async screenshot(file) {
          const { data } = (await call('Page.captureScreenshot', { format: 'png', captureBeyondViewport: true }, sessionId)) as { data: string };
          await writeFile(file, Buffer.from(data, 'base64'));
        },
      };
    },
    async close() {
      await call('Browser.close').catch(() => undefined);
      if (child.exitCode === null && child.signalCode === null) {
        await new Promise<void>((done) => {
          const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
          child.once('exit', () => (clearTimeout(timer), done()));
        });
      }
      await rm(profile, { recursive: true, force: true });
    },
  };
}
