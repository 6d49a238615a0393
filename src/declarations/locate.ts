import { isMap, isNode, isPair, isScalar, isSeq, type Node } from 'yaml';
import type { ParsedYaml } from './parse-yaml.js';

/** A 1-based position in a file. */
export interface Position {
  line: number;
  col: number;
}

/** Splits a JSON pointer ("/rollout/windows/0/start") into its unescaped segments. */
export function splitPointer(pointer: string): string[] {
  if (pointer === '') return [];
  return pointer
    .slice(1)
    .split('/')
    .map((s) => s.replaceAll('~1', '/').replaceAll('~0', '~'));
}

/** Builds a JSON pointer from segments, escaping ~ and /. */
export function joinPointer(segments: readonly (string | number)[]): string {
  return segments.map((s) => `/${String(s).replaceAll('~', '~0').replaceAll('/', '~1')}`).join('');
}

function keyText(key: unknown): string | undefined {
  if (isScalar(key)) return String(key.value);
  return typeof key === 'string' ? key : undefined;
}

/** The pair of `map` whose key reads `name`, if any. */
function findPair(node: unknown, name: string): { key: unknown; value: unknown } | undefined {
  if (!isMap(node)) return undefined;
  return node.items.find((p) => isPair(p) && keyText(p.key) === name);
}

function positionOf(parsed: ParsedYaml, node: unknown): Position | undefined {
  if (!isNode(node) || !(node as Node).range) return undefined;
  const range = (node as Node).range;
  if (!range) return undefined;
  return parsed.lineCounter.linePos(range[0]);
}

/**
 * The position of the node a JSON pointer names. With `key: true` the position of the last segment's key
 * (used for unknown properties). Falls back to the nearest ancestor that exists, then to 1:1.
 */
export function locatePointer(parsed: ParsedYaml, pointer: string, opts: { key?: boolean } = {}): Position {
  const segments = splitPointer(pointer);
  let node: unknown = parsed.doc.contents;
  let best: Position = positionOf(parsed, node) ?? { line: 1, col: 1 };
  for (const [i, seg] of segments.entries()) {
    const last = i === segments.length - 1;
    if (isSeq(node)) {
      node = node.items[Number(seg)];
    } else if (isMap(node)) {
      const pair = findPair(node, seg);
      if (pair && last && opts.key) return positionOf(parsed, pair.key) ?? best;
      // A key with no value (`health:`) has a null value node without range: point at the key instead.
      node = pair ? (isNode(pair.value) && (pair.value as Node).range ? pair.value : pair.key) : undefined;
    } else {
      node = undefined;
    }
    const here = positionOf(parsed, node);
    if (!here) return best;
    best = here;
  }
  return best;
}
