// Generated regions of a Markdown file: everything between `<!-- generated:<name> -->` and the next
// `<!-- /generated -->` belongs to the generator; the rest of the file is written by hand.

const OPENING = /<!-- generated:([a-z0-9-]+) -->/g;
const CLOSING = '<!-- /generated -->';

/** `text` with every region's content replaced by its renderer's output. */
export function fillRegions(
  text: string,
  rendered: ReadonlyMap<string, string>,
  file: string,
): string {
  let result = '';
  let at = 0;
  for (const opening of text.matchAll(OPENING)) {
    const [marker, name = ''] = opening;
    if (opening.index < at)
      throw new Error(`${file}: region "${name}" opens inside another region`);
    const content = rendered.get(name);
    if (content === undefined) throw new Error(`${file}: no generator for region "${name}"`);
    const end = text.indexOf(CLOSING, opening.index);
    if (end < 0) throw new Error(`${file}: region "${name}" is not closed with ${CLOSING}`);
    result += `${text.slice(at, opening.index)}${marker}\n\n${content}\n\n${CLOSING}`;
    at = end + CLOSING.length;
  }
  return result + text.slice(at);
}
