// The MIME type `send --file` gives a file when `--type` does not: from its extension, for the
// common types a receiver is likely to open; anything else is plain bytes.
import { extname } from 'node:path';

const OCTET_STREAM = 'application/octet-stream';

const typesByExtension = new Map<string, string>([
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

/** The type for a file name by its extension (case-insensitive), else application/octet-stream. */
export function contentTypeFor(filename: string): string {
  return typesByExtension.get(extname(filename).toLowerCase()) ?? OCTET_STREAM;
}
