/**
 * Etags travel without quotes everywhere in Flotilla (S3 returns `"abc"`; Ceph RGW 16 rejects a quoted
 * If-Match). Strips one pair of surrounding double quotes and a weak `W/` marker; anything else unchanged.
 */
export function normaliseEtag(etag: string): string {
  const s = etag.startsWith('W/') ? etag.slice(2) : etag;
  return s.length >= 2 && s.startsWith('"') && s.endsWith('"') ? s.slice(1, -1) : s;
}
