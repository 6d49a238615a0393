import { renameSync, writeFileSync } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { fsyncDir, fsyncPath } from '../util/atomic-write.js';
import { readSmallFileSync } from '../util/read-small-file.js';
import { MAX_NARINFO_BYTES, parseNarInfo, type NarInfo } from './narinfo.js';
import { formatNarInfo } from './narinfo-format.js';
import { narInfoCacheDirUnder } from './root-layout.js';
import { rememberSigners, verifyNarInfoAsync, type NixTrustPolicy } from './signatures.js';
import { parseStorePath } from './store-path.js';
import { nixTempNameFor } from './temp-names.js';
import { memoSigners, verifiedMemoLine } from './verified-memo.js';

// Why a narinfo kept on disk is as good as the cache's: a store path names its contents for good, and what
// a narinfo says that matters (StorePath, NarHash, NarSize, References) is covered by its signature, which
// held when it was kept and must hold under the trust of the run that reads it: the keys its memo names
// (verified-memo.ts) still trusted with the same bytes, else a verification anew. URL, Compression and
// FileHash name one cache's file: a kept narinfo is only used for a path already placed, whose NAR is never
// read again.

function fileOf(root: string, storePath: string): string {
  return join(narInfoCacheDirUnder(root), `${parseStorePath(storePath).hash}.narinfo`);
}

/**
 * The narinfo of `storePath` kept under `root` by stageNarInfos, parsed and trusted under `trust`: by its
 * memo when enough of the keys it names are still trusted as they were (verified-memo.ts), else verified;
 * undefined when there is none, or it is malformed, names another path or no longer has enough trusted
 * signatures (the caller then reads the cache, as when nothing was kept). Never throws.
 */
export async function readKeptNarInfo(root: string, storePath: string, trust: NixTrustPolicy): Promise<NarInfo | undefined> {
  try {
    const kept = readSmallFileSync(fileOf(root, storePath), MAX_NARINFO_BYTES);
    if (kept.kind !== 'file') return undefined;
    const text = kept.bytes.toString('utf8');
    const info = parseNarInfo(text, storePath);
    const vouched = memoSigners(text, info, trust);
    if (vouched.length >= Math.max(1, trust.threshold)) rememberSigners(info, trust, vouched);
    else await verifyNarInfoAsync(info, trust);
    return info;
  } catch {
    return undefined;
  }
}

/** Kept narinfos written under temp names, not yet visible; see stageNarInfos. */
export interface StagedNarInfos {
  /** The temp files, for a flush of the caller's that covers them (flushFilesystem). */
  readonly temps: readonly string[];
  /** Renames them into place (fsyncing each first unless `flushed` says a flush already covered them), then flushes the directory once. */
  publish(flushed: boolean): Promise<void>;
  /** Removes the temps. Never throws. */
  discard(): Promise<void>;
}

/**
 * Writes `infos` (narinfos of paths about to be placed under `root`, verified under `trust`) for
 * readKeptNarInfo under temp names, each with the memo of the keys whose signatures held
 * (verified-memo.ts), so one flush of the caller's (the one that makes the NARs durable before they are
 * renamed) covers them too; publish renames them. A crash leaves whole files or none. Throws the file
 * system's errors (temps written so far removed).
 */
export async function stageNarInfos(root: string, infos: readonly NarInfo[], trust: NixTrustPolicy): Promise<StagedNarInfos> {
  const dir = narInfoCacheDirUnder(root);
  const files = infos.map((info) => ({
    final: fileOf(root, info.storePath),
    temp: nixTempNameFor(fileOf(root, info.storePath)),
    text: formatNarInfo(info) + verifiedMemoLine(info, trust),
  }));
  const written: typeof files = [];
  const discard = async (): Promise<void> => {
    await Promise.all(written.map((f) => rm(f.temp, { force: true }).catch(() => undefined)));
  };
  if (files.length > 0) await mkdir(dir, { recursive: true });
  try {
    // On this thread, synchronously: a few hundred bytes each, one after another, where each file's three
    // turns through libuv's pool (open, write, close) cost a closure of 301 paths 126 ms (session 26).
    for (const f of files) {
      written.push(f); // before the write: one that fails midway (ENOSPC) leaves its temp, which discard removes
      writeFileSync(f.temp, f.text, { flag: 'wx', mode: 0o644 });
    }
  } catch (err) {
    await discard();
    throw err;
  }
  return {
    temps: files.map((f) => f.temp),
    discard,
    async publish(flushed) {
      if (files.length === 0) return;
      try {
        if (!flushed) await Promise.all(files.map((f) => fsyncPath(f.temp)));
        for (const f of files) renameSync(f.temp, f.final);
      } catch (err) {
        await discard();
        throw err;
      }
      await fsyncDir(dir);
    },
  };
}
