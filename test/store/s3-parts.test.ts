import { Readable } from 'node:stream';
import { expect, it } from 'vitest';
import { readParts } from '../../src/store/s3-upload.js';
it.each([[1, 7], [3, 7], [7, 7], [10, 7], [15, 7], [100, 5]])('splits %i-byte chunks into parts of %i', async (chunk, part) => {
  const data = Buffer.from(Array.from({ length: 53 }, (_, i) => i));
  const chunks: Buffer[] = [];
  for (let i = 0; i < data.length; i += chunk) chunks.push(data.subarray(i, i + chunk));
  const parts: Buffer[] = [];
  for await (const p of readParts(Readable.from(chunks), part)) parts.push(Buffer.from(p));
  expect(Buffer.concat(parts)).toEqual(data);
  expect(parts.slice(0, -1).every((p) => p.length === part)).toBe(true);
  expect(parts.at(-1)?.length).toBeGreaterThan(0);
});
