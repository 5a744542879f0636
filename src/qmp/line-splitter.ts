// Splits the QMP byte stream into lines (QEMU ends every JSON message with a newline) and caps
// the length of one line. It works on bytes and decodes only whole lines, so a multi-byte UTF-8
// character split across two socket reads is never mangled (0x0A never occurs inside one).
// The cap exists because a peer that never sends a newline would otherwise grow the buffer forever.

import { QmpError } from './errors.js';

export const defaultMaxLineBytes = 16 * 1024 * 1024;

const newline = 0x0a;

export class LineSplitter {
  private readonly maxLineBytes: number;
  private pending: Buffer[] = [];
  private pendingBytes = 0;

  constructor(maxLineBytes: number = defaultMaxLineBytes) {
    this.maxLineBytes = maxLineBytes;
  }

  /** Returns the complete lines in `chunk` (without the newline); throws QMP_LINE_TOO_LONG past the cap. */
  push(chunk: Buffer): string[] {
    const lines: string[] = [];
    let start = 0;
    for (let end = chunk.indexOf(newline); end !== -1; end = chunk.indexOf(newline, start)) {
      this.append(chunk.subarray(start, end));
      lines.push(this.takeLine());
      start = end + 1;
    }
    this.append(chunk.subarray(start));
    return lines;
  }

  private append(part: Buffer): void {
    if (part.length === 0) return;
    if (this.pendingBytes + part.length > this.maxLineBytes) {
      const seen = this.pendingBytes + part.length;
      this.pending = [];
      this.pendingBytes = 0;
      throw new QmpError(
        'QMP_LINE_TOO_LONG',
        `QMP line exceeded ${this.maxLineBytes} bytes (${seen} bytes without a newline); connection dropped`,
      );
    }
    this.pending.push(part);
    this.pendingBytes += part.length;
  }

  private takeLine(): string {
    const line = Buffer.concat(this.pending, this.pendingBytes).toString('utf8');
    this.pending = [];
    this.pendingBytes = 0;
    return line.endsWith('\r') ? line.slice(0, -1) : line;
  }
}
