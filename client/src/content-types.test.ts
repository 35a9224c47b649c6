import { describe, expect, it } from 'vitest';
import { contentTypeSchema } from '@deaddrop/contract';
import { DEFAULT_FILE_CONTENT_TYPE, contentTypeForFile } from './content-types.js';

describe('contentTypeForFile', () => {
  it('maps common extensions, case-insensitively, from a bare name or a path', () => {
    expect(contentTypeForFile('report.PDF')).toBe('application/pdf');
    expect(contentTypeForFile('/tmp/photo.jpeg')).toBe('image/jpeg');
    expect(contentTypeForFile('data.json')).toBe('application/json');
  });

  it('sends anything else as plain bytes', () => {
    expect(contentTypeForFile('archive.7z')).toBe(DEFAULT_FILE_CONTENT_TYPE);
    expect(contentTypeForFile('Makefile')).toBe(DEFAULT_FILE_CONTENT_TYPE);
    expect(contentTypeForFile('.json')).toBe(DEFAULT_FILE_CONTENT_TYPE);
  });

  it('gives only types the protocol accepts', () => {
    for (const name of ['a.txt', 'a.md', 'a.svg', 'a.tar', 'a.bin'])
      expect(contentTypeSchema.safeParse(contentTypeForFile(name)).success).toBe(true);
  });
});
