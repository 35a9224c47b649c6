// JSON objects keyed by outside strings (agent ids, relay ids, message ids from files) read into
// Maps. zod's `record` assigns keys onto a plain object: `__proto__` vanishes (or replaces the
// prototype) and `constructor` reads Object.prototype's; a Map has no such keys.
import { z } from 'zod';

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const prototype: unknown = Object.getPrototypeOf(value);
  return prototype === Object.prototype || prototype === null;
}

/** A JSON object whose own keys match `key` and whose values match `value`, as a Map. */
export function jsonObjectMap<K extends string, V extends z.ZodType>(
  key: z.ZodType<K>,
  value: V,
): z.ZodType<Map<K, z.output<V>>> {
  return z.unknown().transform((input, ctx) => {
    const map = new Map<K, z.output<V>>();
    if (!isPlainObject(input)) {
      ctx.addIssue({ code: 'custom', message: 'expected an object' });
      return z.NEVER;
    }
    // Object.entries lists own keys only, `__proto__` included when JSON.parse made it one.
    for (const [name, item] of Object.entries(input)) {
      const parsedKey = key.safeParse(name);
      const parsedValue = value.safeParse(item);
      if (!parsedKey.success || !parsedValue.success) {
        // The key is not echoed: it is the file's (or relay's) text, not ours.
        ctx.addIssue({ code: 'custom', message: 'invalid entry' });
        return z.NEVER;
      }
      map.set(parsedKey.data, parsedValue.data);
    }
    return map;
  });
}

/** The Map as a JSON object; `Object.fromEntries` defines own keys, `__proto__` included. */
export function mapToJsonObject<V>(map: ReadonlyMap<string, V>): Record<string, V> {
  return Object.fromEntries(map);
}
