// JSON values a sender may put in a message body, checked without recursion (PROTOCOL §6 "Hostile
// content"): a validly signed envelope can hold any bytes, and a recursive walk over 2,000 nested
// arrays overflows the stack of whoever opens it.

/** Plain JSON: what `JSON.parse` produces and `JSON.stringify` writes back unchanged. */
export type JsonValue =
  string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };

/**
 * How deep arrays and objects may nest in a message body: `"x"` is depth 0, `[]` and `{}` are 1,
 * `[[1]]` is 2. Senders refuse a deeper body; receivers report one as unreadable (`bad-inner`).
 */
export const MAX_BODY_DEPTH = 64;

/**
 * Whether `text` (JSON or not) nests `[` and `{` at most `maxDepth` deep, brackets inside strings
 * not counted. A linear scan, run before `JSON.parse`, so a deep document is refused before
 * anything is built from it (V8 parses one of 2 million levels in over a second).
 */
export function jsonTextDepthWithin(text: string, maxDepth: number): boolean {
  let depth = 0;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code === 0x22 /* " */) {
      i = closingQuoteAt(text, i + 1);
      if (i < 0) return true; // an unterminated string: no bracket after it counts
    } else if (code === 0x5b /* [ */ || code === 0x7b /* { */) {
      if (++depth > maxDepth) return false;
    } else if (code === 0x5d /* ] */ || code === 0x7d /* } */) {
      depth--;
    }
  }
  return true;
}

/**
 * Where the string that is open at `from` ends (its closing quote), or -1 when it does not. Jumps
 * from quote to quote with indexOf rather than reading every character: a body is mostly one long
 * string, and this scan runs over every message opened (a 1 MiB body took ≈2 ms character by
 * character). A quote ends the string when an even number of backslashes precedes it.
 */
function closingQuoteAt(text: string, from: number): number {
  for (let quote = text.indexOf('"', from); quote >= 0; quote = text.indexOf('"', quote + 1)) {
    let backslashes = 0;
    while (quote - 1 - backslashes >= from && text.charCodeAt(quote - 1 - backslashes) === 0x5c)
      backslashes++;
    if (backslashes % 2 === 0) return quote;
  }
  return -1;
}

function isPlainObject(value: object): value is Record<string, unknown> {
  const prototype: unknown = Object.getPrototypeOf(value);
  return prototype === Object.prototype || prototype === null;
}

/**
 * Whether `value` is plain JSON (strings, finite numbers, booleans, null, arrays, plain objects)
 * nesting at most `maxDepth` deep. Iterative, so neither depth nor a cycle can exhaust the stack:
 * a cycle is refused once it passes `maxDepth`.
 */
export function isJsonValue(value: unknown, maxDepth: number = MAX_BODY_DEPTH): value is JsonValue {
  const pending: [unknown, number][] = [[value, 0]];
  for (let next = pending.pop(); next !== undefined; next = pending.pop()) {
    const [item, depth] = next;
    switch (typeof item) {
      case 'string':
      case 'boolean':
        continue;
      case 'number':
        if (!Number.isFinite(item)) return false;
        continue;
      case 'object': {
        if (item === null) continue;
        if (depth >= maxDepth) return false;
        if (Array.isArray(item)) {
          for (let i = 0; i < item.length; i++) {
            // A hole (`[1, , 2]`) is not JSON: JSON.stringify would write null in its place.
            if (!(i in item)) return false;
            pending.push([item[i], depth + 1]);
          }
        } else {
          if (!isPlainObject(item)) return false;
          for (const key of Object.keys(item)) pending.push([item[key], depth + 1]);
        }
        continue;
      }
      case 'bigint':
      case 'function':
      case 'symbol':
      case 'undefined':
        return false;
    }
  }
  return true;
}
