import type { NarInfo } from './narinfo.js';

const base = (path: string): string => path.slice(path.lastIndexOf('/') + 1);

/**
 * The text of `<hash>.narinfo` for `info`, in the field order `nix copy` writes: parseNarInfo of it gives
 * `info` back (hashes stay in their `sha256:<base-32>` form, which Nix also reads). Never throws.
 */
export function formatNarInfo(info: NarInfo): string {
  const lines = [
    `StorePath: ${info.storePath}`,
    `URL: ${info.url}`,
    `Compression: ${info.compression}`,
    ...(info.fileHash !== undefined ? [`FileHash: ${info.fileHash}`] : []),
    ...(info.fileSize !== undefined ? [`FileSize: ${info.fileSize}`] : []),
    `NarHash: ${info.narHash}`,
    `NarSize: ${info.narSize}`,
    `References: ${info.references.map(base).join(' ')}`,
    ...(info.deriver !== undefined ? [`Deriver: ${base(info.deriver)}`] : []),
    ...info.sigs.map((s) => `Sig: ${s}`),
  ];
  return `${lines.join('\n')}\n`;
}
