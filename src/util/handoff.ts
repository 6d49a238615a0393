/**
 * A one-slot bridge from a reader that pushes views of a buffer it reuses (store.readInto) to a consumer
 * that pulls chunks (an async iterator): `push` resolves only once the consumer is done with the view,
 * that is when it pulls the next chunk or `close` is called, so the reader never overwrites bytes still
 * in use. A consumer must not keep a chunk past its next pull.
 */
export interface Handoff {
  /** Offers `view` to the consumer; resolves once it pulled the next chunk, rejects with `close`'s error. */
  push(view: Buffer): Promise<void>;
  /** No more pushes: the consumer's next pull ends the iteration. */
  end(): void;
  /** The reader failed: the consumer's waiting or next pull rejects with `err`. */
  fail(err: Error): void;
  /** The consumer stopped (`err` when it failed): an outstanding push settles, later ones reject. */
  close(err?: unknown): void;
  readonly chunks: AsyncIterable<Buffer>;
}

type Pull = { resolve: (r: IteratorResult<Buffer>) => void; reject: (err: Error) => void };
type Held = { resolve: () => void; reject: (err: unknown) => void };

export function createHandoff(): Handoff {
  let offered: { view: Buffer; held: Held } | undefined;
  /** The push whose view the consumer holds now. */
  let held: Held | undefined;
  let waiting: Pull | undefined;
  let ended = false;
  let failure: Error | undefined;
  let closed: { err: unknown } | undefined;

  const release = (): void => {
    const h = held;
    held = undefined;
    h?.resolve();
  };
  const give = (pull: Pull): void => {
    if (offered !== undefined) {
      held = offered.held;
      const { view } = offered;
      offered = undefined;
      pull.resolve({ value: view, done: false });
    } else if (failure !== undefined) pull.reject(failure);
    else if (ended) pull.resolve({ value: undefined, done: true });
    else waiting = pull;
  };
  const next = (): Promise<IteratorResult<Buffer>> =>
    new Promise((resolve, reject) => {
      // Pulling again means the chunk before is no longer used.
      release();
      give({ resolve, reject });
    });
  const wake = (): void => {
    const w = waiting;
    waiting = undefined;
    if (w !== undefined) give(w);
  };

  return {
    push(view) {
      if (closed !== undefined) return Promise.reject(closed.err instanceof Error ? closed.err : new Error('handoff: the consumer stopped'));
      if (offered !== undefined || held !== undefined) return Promise.reject(new Error('handoff: a push before the previous one settled'));
      return new Promise<void>((resolve, reject) => {
        offered = { view, held: { resolve, reject } };
        wake();
      });
    },
    end() {
      ended = true;
      wake();
    },
    fail(err) {
      failure = err;
      wake();
    },
    close(err) {
      closed = { err };
      for (const h of [held, offered?.held]) {
        if (h === undefined) continue;
        if (err === undefined) h.resolve();
        else h.reject(err);
      }
      held = undefined;
      offered = undefined;
    },
    chunks: { [Symbol.asyncIterator]: () => ({ next }) },
  };
}
