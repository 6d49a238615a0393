import { randomBytes } from 'node:crypto';
import { connect, createServer, type Socket } from 'node:net';

// Node gives a child process's stdout to us as a pipe read in fresh 64 KiB buffers, one per read: a 50 MB
// NAR out of `zstd -d` was ~800 new allocations, each of fresh pages the collector freed only later, and
// 17,000 page faults (~40 ms of the 95 ms it took to hash; docs/nix.md). A socket Node connects itself can
// read into memory the caller reuses (net's `onread`); node has no socketpair(2), so one is made through a
// listening socket in Linux's abstract namespace, which leaves nothing on disk. Anyone on the machine may
// connect to such a name, so the accepted end is taken only once it has read a random token our end sent.

/** Where `ours` puts what it reads: `space()` is the memory to read into next, `got(n)` says n bytes came; false pauses the socket. */
export interface UserBufferReceiver {
  space(): Buffer;
  got(n: number): boolean;
}

/** How long the pairing may take before it is given up (the caller then reads a pipe as before). */
const PAIR_TIMEOUT_MS = 5_000;
const TOKEN_BYTES = 16;

/**
 * A connected pair of Unix sockets of this process: `theirs` to hand to a child process (as its stdout,
 * say), `ours` reading what arrives into `receiver`'s memory. Undefined where it cannot be made (not
 * Linux, Unix sockets refused by a sandbox, a timeout): nothing is left open then. `beforeOurs` runs once
 * the name listens and before our end connects (tests: a stranger connecting first).
 */
export async function userBufferSocketPair(receiver: UserBufferReceiver, beforeOurs?: (name: string) => Promise<void>): Promise<{ ours: Socket; theirs: Socket } | undefined> {
  if (process.platform !== 'linux') return undefined;
  const name = `\0flotilla-${process.pid}-${randomBytes(12).toString('hex')}`;
  const token = randomBytes(TOKEN_BYTES);
  const server = createServer({ pauseOnConnect: true });
  const strangers: Socket[] = [];
  let ours: Socket | undefined;
  let timer: NodeJS.Timeout | undefined;
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(name, () => {
        server.off('error', reject);
        resolve();
      });
    });
    await beforeOurs?.(name);
    const theirs = await new Promise<Socket>((resolve, reject) => {
      timer = setTimeout(() => reject(new Error('socket pair: no connection')), PAIR_TIMEOUT_MS);
      server.on('connection', (s: Socket) => {
        strangers.push(s);
        let got = Buffer.alloc(0);
        s.on('error', () => undefined);
        s.on('data', (b: Buffer) => {
          got = Buffer.concat([got, b]);
          if (got.length < TOKEN_BYTES) return;
          s.removeAllListeners('data');
          s.pause();
          if (!got.equals(token)) return void s.destroy();
          strangers.splice(strangers.indexOf(s), 1);
          resolve(s);
        });
        // Paused on connect, flowing only when asked, whatever listens.
        s.resume();
      });
      ours = connect({ path: name, onread: { buffer: () => receiver.space(), callback: (n: number) => receiver.got(n) } });
      ours.once('error', reject);
      // Not end(): the accepted end would see EOF and, not being half-open, shut the socket down for writing,
      // which the child's copy of it shares.
      ours.write(token);
    });
    ours?.removeAllListeners('error');
    return ours === undefined ? undefined : { ours, theirs };
  } catch {
    ours?.destroy();
    return undefined;
  } finally {
    clearTimeout(timer);
    for (const s of strangers) s.destroy();
    server.close();
  }
}
