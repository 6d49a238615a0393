import { isScalar, parseDocument } from 'yaml';
import { DeclarationError } from '../errors/index.js';
import type { ClosureRef } from '../store/closure-ref.js';

/**
 * Returns `text` (a sets/NAME.yaml) with its top-level `closure:` value replaced by `digest`, every other
 * byte unchanged: comments, key order, quoting and line endings stay as they were. The yaml Document API
 * locates the scalar; the edit itself is a splice of its source range, because re-serialising the document
 * may re-wrap or re-quote lines elsewhere. Throws DeclarationError naming `file` when the YAML does not parse
 * or has no scalar `closure:`; the result is parsed again and must read back as `digest`.
 */
export function replaceClosureDigest(text: string, digest: ClosureRef, file: string): string {
  const doc = parseDocument(text, { keepSourceTokens: true });
  if (doc.errors.length > 0) throw new DeclarationError(`${file}: not valid YAML: ${doc.errors[0]!.message}`, { file });
  const node = doc.getIn(['closure'], true);
  if (!isScalar(node) || typeof node.value !== 'string' || node.range === undefined || node.range === null) {
    throw new DeclarationError(`${file}: no "closure:" scalar to edit`, { file, pointer: '/closure' });
  }
  const [start, end] = node.range;
  const source = text.slice(start, end);
  const inline = node.type === 'PLAIN' || node.type === 'QUOTE_DOUBLE' || node.type === 'QUOTE_SINGLE';
  const at = inline ? source.indexOf(node.value) : -1;
  if (at < 0) throw new DeclarationError(`${file}: the closure value is written in a form bump cannot edit in place (escapes or a block scalar)`, { file, pointer: '/closure' });
  const out = text.slice(0, start + at) + digest + text.slice(start + at + node.value.length);
  const check = parseDocument(out).getIn(['closure']);
  if (check !== digest) throw new DeclarationError(`${file}: editing the closure did not read back as ${digest}`, { file, pointer: '/closure' });
  return out;
}
