/** HTML that is safe to insert as is: only `html` below and `rawHtml` make one. */
export class SafeHtml {
  constructor(readonly text: string) {}
  toString(): string {
    return this.text;
  }
}

/** A value an `html` template may interpolate: text (escaped), numbers, safe HTML, lists of safe HTML, nothing. */
export type HtmlValue = SafeHtml | string | number | null | undefined | false | readonly SafeHtml[];

const ENTITIES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/** Escapes text for an HTML text node or a quoted attribute value. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ENTITIES[c] ?? c);
}

function piece(v: HtmlValue): string {
  if (v === null || v === undefined || v === false) return '';
  if (v instanceof SafeHtml) return v.text;
  if (Array.isArray(v)) return (v as readonly SafeHtml[]).map((x) => x.text).join('');
  return escapeHtml(String(v));
}

/**
 * Tagged template that escapes every interpolated string: the page shows names and messages that machines
 * write into the store, so nothing they say may become markup. Only SafeHtml passes through.
 */
export function html(strings: TemplateStringsArray, ...values: HtmlValue[]): SafeHtml {
  let out = strings[0] ?? '';
  values.forEach((v, i) => (out += piece(v) + (strings[i + 1] ?? '')));
  return new SafeHtml(out);
}

/** Wraps markup this program wrote itself (a style sheet, a script) as SafeHtml. Never pass it outside data. */
export function rawHtml(trusted: string): SafeHtml {
  return new SafeHtml(trusted);
}
