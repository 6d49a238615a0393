// The supervisor's side of the head pointer: holds the poll state (head-poll-plan.ts), reads the pointer
// with a conditional GET and git with one ls-refs, and says when git is backing off. No tick code: the
// store backends load lazily (an S3 pointer store loads the S3 client on the first read).
import type { Logger } from 'pino';
import type { AgentConfig } from '../declarations/types.js';
import { credentialsFor } from '../declarations/store-credentials.js';
import { readIfChanged } from '../store/conditional-get.js';
import { MAX_HEAD_POINTER_BYTES, parseHeadPointer } from '../store/head-pointer.js';
import { headPointerKey } from '../store/keys.js';
import { openStore } from '../store/open-store.js';
import type { Store } from '../store/store.js';
import type { AgentMetrics } from './agent-metrics.js';
import { gitAnswered, gitBackingOff, gitFailed, initialHeadPollState, judgePointer, planHeadRead, type HeadPollState, type PointerAnswer } from './head-poll-plan.js';

/** What a full tick tells the reader: the commit it synced (or why it could not) and where the pointer is. */
export interface TickHeadNews {
  commit: string | null;
  /** The repo-level error code of the tick, if any (git or store unreachable, untrusted commit…). */
  errorCode?: string;
  headPointerStore?: string;
}

/** The ports of a HeadReader. */
export interface HeadReaderPorts {
  config: AgentConfig;
  /** Asks git where the branch points (readBranchHead); throws on any doubt. */
  readGitHead(): Promise<string | null>;
  log: Logger;
  metrics: Pick<AgentMetrics, 'countHeadRead'>;
  now?: () => number;
  env?: NodeJS.ProcessEnv;
  /** Opens the pointer's store (default: openStore with the config's credentials); the scale benchmark passes its simulated bucket. */
  openStore?: (url: string) => Store;
}

/**
 * A tick's errors that say git is out of reach, so polls back off from it. GitError is the tick's sync
 * failing (the host refused the fetch, cut it short, answered 5xx: status says RepoUnreachable): without it,
 * a host whose ls-refs still answered would get a head check and a whole failed fetch from every machine on
 * every poll for as long as it stays down.
 */
const GIT_UNREACHABLE = new Set(['TransportError', 'TimeoutError', 'GitError']);

/** Reads the branch head for cheap polls: pointer first when the repo enables it, git when it must. */
export class HeadReader {
  private state: HeadPollState = initialHeadPollState();
  private store: { url: string; store: Store } | undefined;
  private readonly now: () => number;

  constructor(private readonly p: HeadReaderPorts) {
    this.now = p.now ?? Date.now;
  }

  /** The poll state, for tests and logs. */
  snapshot(): HeadPollState {
    return this.state;
  }

  /** True while git failures ask the agent not to touch git at all (no head check, no poll tick). */
  backingOff(): boolean {
    return gitBackingOff(this.state, this.now());
  }

  /** After a full tick: a tick that synced is a git answer; one that failed to reach the repo is a failure. */
  async afterTick(news: TickHeadNews): Promise<void> {
    const now = this.now();
    if (news.errorCode === undefined) this.state = gitAnswered(this.state, news.commit, now);
    else if (GIT_UNREACHABLE.has(news.errorCode)) this.state = gitFailed(this.state, now, { pollIntervalMs: this.p.config.repo.pollIntervalMs });
    if (news.headPointerStore !== this.store?.url) {
      await this.store?.store.close();
      this.store = undefined;
      if (news.headPointerStore !== undefined) this.store = { url: news.headPointerStore, store: this.open(news.headPointerStore) };
    }
  }

  private open(url: string): Store {
    if (this.p.openStore !== undefined) return this.p.openStore(url);
    const credentials = credentialsFor(url, this.p.config.storeCredentials, this.p.env ?? process.env);
    return openStore(url, { writable: false, ...(credentials ? { credentials } : {}) });
  }

  /**
   * The branch head as far as this poll can tell, for answerPoll: from the pointer when it is unchanged,
   * from git when it moved, is unavailable, or the safety interval has passed. During a git backoff the
   * known head is returned (the poll waits instead of ticking). Throws what git threw (the caller ticks).
   */
  async readHead(): Promise<string | null> {
    const plan = planHeadRead(this.state, { nowMs: this.now(), pointerOn: this.store !== undefined, safetyMs: this.p.config.repo.safetyCheckMs });
    if (plan.read === 'none') return this.state.knownHead;
    if (plan.read === 'pointer' && this.store !== undefined) {
      const { state, verdict } = judgePointer(this.state, await this.readPointer(this.store.store, plan.ifNoneMatch));
      this.state = state;
      if ('head' in verdict) return verdict.head;
      this.p.log.debug({ why: verdict.askGit }, 'poll: asking git for the branch head');
      if (this.backingOff()) return this.state.knownHead;
    } else if (plan.read === 'git' && plan.why === 'safety-check') {
      this.p.log.debug('poll: safety check, asking git for the branch head');
    }
    return this.readGit();
  }

  private async readPointer(store: Store, etag: string | undefined): Promise<PointerAnswer> {
    const branch = this.p.config.repo.branch;
    try {
      const r = await readIfChanged(store, headPointerKey(branch), etag, { maxBytes: MAX_HEAD_POINTER_BYTES });
      if (r.notModified) {
        this.p.metrics.countHeadRead('pointer', 'not_modified');
        return { kind: 'not-modified' };
      }
      const commit = parseHeadPointer(r.bytes, branch).commit;
      this.p.metrics.countHeadRead('pointer', commit === this.state.knownHead ? 'unchanged' : 'moved');
      return { kind: 'read', etag: r.etag, commit };
    } catch (err) {
      this.p.metrics.countHeadRead('pointer', 'failed');
      this.p.log.debug({ err: err instanceof Error ? err.message : String(err) }, 'poll: head pointer unavailable, asking git');
      return { kind: 'failed' };
    }
  }

  private async readGit(): Promise<string | null> {
    try {
      const head = await this.p.readGitHead();
      this.p.metrics.countHeadRead('git', head === this.state.knownHead ? 'unchanged' : 'moved');
      this.state = gitAnswered(this.state, head, this.now());
      return head;
    } catch (err) {
      this.p.metrics.countHeadRead('git', 'failed');
      const data = (err as { data?: { retryAfter?: unknown } }).data;
      const retryAfter = typeof data?.retryAfter === 'string' ? data.retryAfter : undefined;
      this.state = gitFailed(this.state, this.now(), { pollIntervalMs: this.p.config.repo.pollIntervalMs, ...(retryAfter !== undefined ? { retryAfter } : {}) });
      throw err;
    }
  }

  /** Releases the pointer store's sockets. */
  async close(): Promise<void> {
    await this.store?.store.close();
  }
}
