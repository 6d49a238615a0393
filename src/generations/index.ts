// Public surface of src/generations: the state dir, stage, switch, commit, rollback, recovery, locks, GC.
export { DEFAULT_STATE_DIR, resolveStateDir, setPaths, setsDir, storeDir, objectsDir, packageDirName, packagePath, NIX_OUT_LINK, agentLockFile, repoCacheDir, highWaterMarkFile, localStatusFile, probeMemoFile, historyKeyFile, historyOutboxFile, notificationBoxDir, notificationFile, parseNotificationFileName, type OutboxBox, type SetPaths } from './layout.js';
export { readState, writeState, emptyState, type SetState, type PendingSwitch, type PendingPhase, type BadEntry, type RollbackMarker } from './state-file.js';
export { CRASH_POINTS, NO_CRASH_POINTS, crashPointsFromSpec, type CrashPoint, type CrashPoints } from './crash-points.js';
export { acquireSetLock, withSetLock, type LockHolder, type LockOptions, type ReleaseLock } from './set-lock.js';
export { listGenerations, findGeneration, readGeneration, type Generation, type GenerationNix, type GenerationPackage, type Origin } from './generation.js';
export { readCurrent, replaceSymlink, type CurrentLink } from './symlink.js';
export { STATFS_DISK_SPACE, type DiskSpace } from './disk-space.js';
export { stageGeneration, type StageOptions, type StagePackage, type StageResult } from './stage.js';
export { switchGeneration, setPendingPhase, commitSwitch, type SwitchPorts, type SwitchResult } from './switch.js';
export { rollbackTo, type ActivateHook, type RollbackOptions, type RollbackResult } from './rollback.js';
export { markBad, isBad, isBadIn, recordDesired, clearBad, withBadMark, withDesired, type BadMark } from './bad-digests.js';
export { recoverPending, type RecoveryResult } from './recover.js';
export { cleanStaleTemps } from './stale-temps.js';
export { gcGenerations, type GcOptions, type GcResult } from './gc.js';
export { syncNixGcRoots, gcNixStores, nixRootsOf, flotillaGcRootsDir, nixOwnsStore, type NixStoreGcResult } from './nix-roots.js';
export { requireSet } from './require-set.js';
