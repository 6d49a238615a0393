/**
 * True while a process with this pid exists on this machine. Only ESRCH says it is gone: EPERM (someone
 * else's process) and anything unexpected count as alive, so a caller never removes what a live process
 * may still own.
 */
export function isPidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException | null)?.code !== 'ESRCH';
  }
}
