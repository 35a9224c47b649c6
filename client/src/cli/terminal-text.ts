// Text from outside (message bodies, relay error messages) as the CLI lets it reach a terminal:
// control characters, which could move the cursor, clear the screen or rewrite the verdict line
// above them, and bidirectional overrides, which can make text read other than it is, are shown as
// `\uXXXX`. Tab and newline stay. In a JSON line the same escape is JSON's own, so a program
// reading `--json` output gets the very same value.

/**
 * C0 controls but tab and newline, DEL, C1 controls (U+009B is a CSI to many terminals), the line
 * and paragraph separators, and bidi embeddings, overrides and isolates.
 */
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const UNSAFE = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;

function escaped(character: string): string {
  return `\\u${(character.codePointAt(0) ?? 0).toString(16).padStart(4, '0')}`;
}

export function printable(text: string): string {
  return text.replace(UNSAFE, escaped);
}

/**
 * `printable`, with newlines escaped too: for stderr, where every line is one status or error and
 * a relay's text must not start a line of its own (a forged "✓ verified" message, say).
 */
export function printableLine(text: string): string {
  return printable(text).replace(/\n/g, '\\u000a');
}
