// The deploy repo's git host as the scale simulation sees it: where the branch points, and the requests each
// kind of read costs (counted by kind and body bytes), answered after a simulated round trip. The request
// shapes are those of the real code: the head check is one protocol v2 ls-refs POST limited to the branch
// (src/git/remote-head.ts); a full tick's sync is isomorphic-git's listServerRefs (v2: capability GET, then
// ls-refs), plus, when the head moved, its fetch (protocol v1: the advertisement of every ref, then the pack).
import { lsRefsRequest } from '../../src/git/ls-refs-v2.js';
import type { RequestTally } from './request-tally.js';
import type { SimClock } from './sim-clock.js';

/** Body bytes of one ref line in a v0/v1 advertisement (pkt length, oid, space, name, LF). */
const REF_LINE_BYTES = 4 + 40 + 1 + 30 + 1;
/** A v2 capability advertisement (version 2, agent, ls-refs, fetch, server-option, object-format). */
const V2_CAPABILITIES_BYTES = 140;

/** The repo's branch head, and a counter of every request made to read it. */
export class GitDouble {
  /** The branch head, a 40-hex commit id. */
  head: string;
  private commits = 0;

  constructor(
    private readonly clock: SimClock,
    private readonly tally: RequestTally,
    /** Refs in the repo besides the branch (tags, other branches): only the v1 advertisement carries them. */
    readonly refs: number,
    readonly latencyMs: number,
    /** Bytes of the pack one new commit costs a machine that has its parent. */
    readonly packBytes: number,
  ) {
    this.head = this.nextOid();
  }

  private nextOid(): string {
    return (++this.commits).toString(16).padStart(40, '0');
  }

  /** A new commit lands on the branch. */
  commit(): string {
    this.head = this.nextOid();
    return this.head;
  }

  private async send(kind: string, bytesOut: number, bytesIn: number): Promise<void> {
    this.tally.count(kind, this.clock.monotonicMs(), bytesOut, bytesIn);
    await this.clock.sleep(this.latencyMs);
  }

  /** The supervisor's head check: one ls-refs POST with a ref prefix; its answer names one ref. */
  async lsRefs(branch: string): Promise<string> {
    const request = lsRefsRequest(`refs/heads/${branch}`).length;
    await this.send('ls-refs', request, 4 + 40 + 1 + `refs/heads/${branch}`.length + 1 + 4);
    return this.head;
  }

  /** A full tick's sync: listServerRefs (v2), then a fetch when the head moved past `have`. The head. */
  async sync(branch: string, have: string | null): Promise<{ head: string; changed: boolean }> {
    await this.send('info/refs v2', 0, V2_CAPABILITIES_BYTES);
    const head = await this.lsRefs(branch);
    if (head === have) return { head, changed: false };
    await this.send('info/refs v1', 0, (this.refs + 1) * REF_LINE_BYTES + 200);
    await this.send('upload-pack', 200, this.packBytes);
    return { head, changed: true };
  }
}
