/** A JSON value as the manifest format allows it: no floats, no null. */
export type CanonicalValue = string | number | boolean | CanonicalValue[] | { [key: string]: CanonicalValue };

/**
 * Serialises `value` canonically: object keys sorted by UTF-16 code unit order, no whitespace, strings
 * escaped exactly as JSON.stringify does, numbers only as safe non-negative integers.
 * Throws RangeError for anything else (floats, negative numbers, undefined), which is a bug in the caller.
 */
export function canonicalJson(value: CanonicalValue): string {
  if (typeof value === 'string' || typeof value === 'boolean') return JSON.stringify(value);
  if (typeof value === 'number') {
    if (!Number.isSafeInteger(value) || value < 0) throw new RangeError(`not a canonical integer: ${value}`);
    return String(value);
  }
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  const keys = Object.keys(value).sort();
  const parts: string[] = [];
  for (const k of keys) {
    const v = value[k];
    if (v === undefined) throw new RangeError(`undefined value at key ${k}`);
    parts.push(`${JSON.stringify(k)}:${canonicalJson(v)}`);
  }
  return `{${parts.join(',')}}`;
}
