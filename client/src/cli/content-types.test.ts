import { describe, expect, it } from 'vitest';
import { contentTypeSchema } from '@deaddrop/contract';
import { contentTypeFor } from './content-types.js';

describe('contentTypeFor', () => {
  it('types a file by its extension, case-insensitively, else as plain bytes', () => {
    expect(contentTypeFor('photo.JPG')).toBe('image/jpeg');
    expect(contentTypeFor('notes.md')).toBe('text/markdown; charset=utf-8');
    expect(contentTypeFor('data.tar.gz')).toBe('application/gzip');
    expect(contentTypeFor('Makefile')).toBe('application/octet-stream');
    expect(contentTypeFor('.json')).toBe('application/octet-stream');
  });

  it('gives only types the contract accepts', () => {
    for (const name of ['a.json', 'a.txt', 'a.csv', 'a.html', 'a.svg', 'a.mp4', 'a.bin']) {
      expect(contentTypeSchema.safeParse(contentTypeFor(name)).success).toBe(true);
    }
  });
});
