/** The one piece of the WebAssembly API used here (TypeScript's node lib, without the DOM's, does not declare it). */
declare const WebAssembly: { Memory: new (descriptor: { initial: number; maximum?: number; shared?: boolean }) => { buffer: ArrayBuffer | SharedArrayBuffer } };
/** A WebAssembly page: the unit a Memory is sized in. */
const WASM_PAGE = 64 * 1024;

/**
 * `bytes` (a multiple of 64 KiB) of memory starting on a page boundary, as O_DIRECT wants it; `shared`
 * for memory a worker thread sees too (a SharedArrayBuffer). Node gives no way to align a Buffer; a
 * WebAssembly.Memory's bytes are mapped by V8 from whole pages, so they start on one. Were that ever not
 * so, a direct write from them fails with EINVAL, and every caller then writes through the page cache.
 */
export function pageAlignedBuffer(bytes: number, shared = false): Buffer {
  if (bytes % WASM_PAGE !== 0) throw new RangeError(`page-aligned memory comes in 64 KiB pages, not ${bytes} bytes`);
  const pages = bytes / WASM_PAGE;
  return Buffer.from(new WebAssembly.Memory(shared ? { initial: pages, maximum: pages, shared } : { initial: pages }).buffer);
}
