const DECODER = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false });

/** Decodes file bytes as strict UTF-8 (BOM dropped); undefined when the bytes are not UTF-8. */
export function decodeUtf8(bytes: Uint8Array | string): string | undefined {
  if (typeof bytes === 'string') return bytes.startsWith('\uFEFF') ? bytes.slice(1) : bytes;
  try {
    return DECODER.decode(bytes);
  } catch {
    return undefined;
  }
}
