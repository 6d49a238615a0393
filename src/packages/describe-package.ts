import type { LoadedManifest } from './manifest-types.js';

/** A summary of one package for `show` and `diff`. */
export interface PackageSummary {
  digest: string;
  name: string;
  manifestBytes: number;
  files: number;
  dirs: number;
  symlinks: number;
  executables: number;
  inlined: number;
  fileBytes: number;
  references: string[];
  provenance: Record<string, string>;
}

/** Summarises a loaded manifest (pure). */
export function summarisePackage(p: LoadedManifest): PackageSummary {
  const s: PackageSummary = {
    digest: p.digest,
    name: p.manifest.name,
    manifestBytes: p.bytes.length,
    files: 0,
    dirs: 0,
    symlinks: 0,
    executables: 0,
    inlined: 0,
    fileBytes: 0,
    references: [...p.manifest.references],
    provenance: { ...p.manifest.provenance },
  };
  for (const e of p.manifest.entries) {
    if (e.type === 'dir') s.dirs++;
    else if (e.type === 'symlink') s.symlinks++;
    else {
      s.files++;
      s.fileBytes += e.size;
      if (e.executable) s.executables++;
      if (e.data !== undefined) s.inlined++;
    }
  }
  return s;
}
