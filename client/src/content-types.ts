// The MIME type of a file to send, from its name's extension: a small table of common types, shared
// by the CLI (`send --file`) and the MCP server (`send_message` with `file_path`).
import { extname } from 'node:path';

/** What a file of no known type is sent as: bytes, no claim about them. */
export const DEFAULT_FILE_CONTENT_TYPE = 'application/octet-stream';

const contentTypesByExtension = new Map<string, string>([
  ['.json', 'application/json'],
  ['.txt', 'text/plain; charset=utf-8'],
  ['.md', 'text/markdown; charset=utf-8'],
  ['.csv', 'text/csv; charset=utf-8'],
  ['.html', 'text/html; charset=utf-8'],
  ['.pdf', 'application/pdf'],
  ['.png', 'image/png'],
  ['.jpg', 'image/jpeg'],
  ['.jpeg', 'image/jpeg'],
  ['.gif', 'image/gif'],
  ['.webp', 'image/webp'],
  ['.svg', 'image/svg+xml'],
  ['.zip', 'application/zip'],
  ['.gz', 'application/gzip'],
  ['.tar', 'application/x-tar'],
  ['.mp3', 'audio/mpeg'],
  ['.wav', 'audio/wav'],
  ['.mp4', 'video/mp4'],
]);

/** The content type for a file named `name` (a path is fine); case-insensitive on the extension. */
export function contentTypeForFile(name: string): string {
  return contentTypesByExtension.get(extname(name).toLowerCase()) ?? DEFAULT_FILE_CONTENT_TYPE;
}
