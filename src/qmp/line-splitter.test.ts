// Framing of the QMP byte stream: lines split across reads, several per read, UTF-8 cut
// mid-character, and the per-line size cap.

import { describe, expect, it } from 'vitest';
import { QmpError } from './errors.js';
import { LineSplitter } from './line-splitter.js';

describe('LineSplitter', () => {
  it('joins a line that arrives in several chunks', () => {
    const splitter = new LineSplitter();
    expect(splitter.push(Buffer.from('{"return"'))).toEqual([]);
    expect(splitter.push(Buffer.from(': {}, "id"'))).toEqual([]);
    expect(splitter.push(Buffer.from(': 1}\n'))).toEqual(['{"return": {}, "id": 1}']);
  });

  it('returns every line of a chunk that holds several messages, keeping the unfinished tail', () => {
    const splitter = new LineSplitter();
    expect(splitter.push(Buffer.from('{"a":1}\n{"b":2}\r\n{"c"'))).toEqual(['{"a":1}', '{"b":2}']);
    expect(splitter.push(Buffer.from(':3}\n'))).toEqual(['{"c":3}']);
  });

  it('decodes a multi-byte UTF-8 character split across chunks', () => {
    const bytes = Buffer.from('{"desc":"disque é 日本"}\n', 'utf8');
    const cut = bytes.indexOf(Buffer.from('日', 'utf8')) + 1;
    const splitter = new LineSplitter();
    expect(splitter.push(bytes.subarray(0, cut))).toEqual([]);
    expect(splitter.push(bytes.subarray(cut))).toEqual(['{"desc":"disque é 日本"}']);
  });

  it('throws QMP_LINE_TOO_LONG once a line passes the cap, even without a newline', () => {
    const splitter = new LineSplitter(16);
    expect(splitter.push(Buffer.from('0123456789'))).toEqual([]);
    const error = (() => {
      try {
        splitter.push(Buffer.from('0123456789'));
      } catch (caught) {
        return caught;
      }
      return undefined;
    })();
    expect(error).toBeInstanceOf(QmpError);
    expect((error as QmpError).code).toBe('QMP_LINE_TOO_LONG');
  });

  it('accepts a line of exactly the cap', () => {
    const splitter = new LineSplitter(4);
    expect(splitter.push(Buffer.from('abcd\nefgh\n'))).toEqual(['abcd', 'efgh']);
  });
});
