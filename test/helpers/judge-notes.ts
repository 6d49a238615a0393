import { pageCacheJudge } from '../../src/util/page-cache-judge.js';

/** A write the process's page-cache judge was told of. */
export interface JudgedWrite {
  bytes: number;
  ms: number;
}

/**
 * Runs `fn` with every write the process's judge (src/util/page-cache-judge.ts) is told of also pushed onto
 * the list `fn` gets, passed on to the judge as before; then lets the judge be.
 */
export async function withJudgeNotes<T>(fn: (noted: JudgedWrite[]) => Promise<T>): Promise<T> {
  const noted: JudgedWrite[] = [];
  const note = pageCacheJudge.note.bind(pageCacheJudge);
  pageCacheJudge.note = (bytes, ms) => {
    noted.push({ bytes, ms });
    note(bytes, ms);
  };
  try {
    return await fn(noted);
  } finally {
    pageCacheJudge.note = note;
  }
}
