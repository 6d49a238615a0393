/** What `flotilla log` shows of a commit besides its signature. */
export interface CommitInfo {
  author: string;
  /** Committer time, epoch seconds (what git log orders by). */
  committerTime: number;
  subject: string;
}

/** Reads author, committer time and subject from raw commit bytes. Missing fields come back empty/0. */
export function parseCommitInfo(raw: Uint8Array): CommitInfo {
  const text = Buffer.from(raw).toString('utf8');
  const split = text.indexOf('\n\n');
  const header = split === -1 ? text : text.slice(0, split);
  const message = split === -1 ? '' : text.slice(split + 2);
  const author = /^author (.*) <[^>]*> \d+ [+-]\d{4}$/m.exec(header)?.[1] ?? '';
  const committerTime = Number(/^committer .* (\d+) [+-]\d{4}$/m.exec(header)?.[1] ?? 0);
  return { author, committerTime, subject: message.split('\n')[0] ?? '' };
}
