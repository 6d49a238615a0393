/** A commit object split into the bytes its signature covers and the signature itself. */
export interface SignedCommitParts {
  /** The raw commit without any `gpgsig`/`gpgsig-sha256` header: what `git commit -S` signed. */
  payload: Buffer;
  /** The `gpgsig` header's value with continuation spaces removed, newline-terminated; undefined if unsigned. */
  signature?: string;
  /** How many `gpgsig` headers the commit has (more than one is ambiguous and must be refused). */
  signatureHeaders: number;
  /** Committer timestamp, epoch milliseconds (validity windows are judged at it, as git does). */
  committerTime?: number;
}

const SIG_HEADERS = ['gpgsig', 'gpgsig-sha256'];

/**
 * Rebuilds the signed payload from a RAW commit object (isomorphic-git's `payload` only strips PGP armor
 * and is wrong for SSH signatures): drops every `gpgsig` and `gpgsig-sha256` header with its continuation
 * lines, exactly as git's parse_buffer_signed_by_header does, and keeps every other byte. The signature
 * verified is the SHA-1 object format's `gpgsig`. Never throws; a commit without a header/body break is
 * returned whole as payload.
 */
export function splitSignedCommit(raw: Uint8Array): SignedCommitParts {
  const buf = Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength);
  const headerEnd = buf.indexOf('\n\n');
  const limit = headerEnd === -1 ? buf.length : headerEnd + 1;
  const kept: Buffer[] = [];
  const sigLines: string[] = [];
  let signatureHeaders = 0;
  let inSig: 'gpgsig' | 'other-sig' | null = null;
  let committerTime: number | undefined;
  let pos = 0;
  while (pos < limit) {
    const nl = buf.indexOf('\n', pos);
    const end = nl === -1 || nl >= limit ? limit : nl + 1;
    const line = buf.subarray(pos, end);
    pos = end;
    if (line[0] === 0x20 && inSig !== null) {
      if (inSig === 'gpgsig' && signatureHeaders === 1) sigLines.push(line.toString('utf8', 1).replace(/\n$/, ''));
      continue;
    }
    inSig = null;
    const text = line.toString('utf8');
    const sp = text.indexOf(' ');
    const name = sp === -1 ? text.trimEnd() : text.slice(0, sp);
    if (SIG_HEADERS.includes(name)) {
      inSig = name === 'gpgsig' ? 'gpgsig' : 'other-sig';
      if (name === 'gpgsig') {
        signatureHeaders += 1;
        if (signatureHeaders === 1) sigLines.push(text.slice(sp + 1).replace(/\n$/, ''));
      }
      continue;
    }
    if (name === 'committer') {
      const m = / (\d+) [+-]\d{4}\n?$/.exec(text);
      if (m?.[1]) committerTime = Number(m[1]) * 1000;
    }
    kept.push(line);
  }
  kept.push(buf.subarray(limit));
  return {
    payload: Buffer.concat(kept),
    ...(signatureHeaders > 0 ? { signature: `${sigLines.join('\n')}\n` } : {}),
    signatureHeaders,
    ...(committerTime !== undefined ? { committerTime } : {}),
  };
}
