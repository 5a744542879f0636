// The bytes two fake QEMUs exchange for a migration. It opens as QEMU's stream does (the
// QEMU_VM_FILE_MAGIC "QEVM" and version 3), which is what the target agent's RAM gate
// (src/agent/migration/incoming/ram-gate.ts) admits without TLS; then frames of the fake's own:
// a type byte, a 32-bit length, the payload. RAM frames carry pages, DEVICE the final state,
// EOF the end (QEMU_VM_EOF): a target that loses the stream before EOF fails as QEMU does.

export const MAGIC = Buffer.from('QEVM', 'latin1');
export const HEADER = Buffer.concat([MAGIC, Buffer.from([0, 0, 0, 3])]);
export const FRAME_HEADER_BYTES = 5;
export type FrameType = 'R' | 'D' | 'E';

export function frame(type: FrameType, payloadBytes: number): Buffer {
  const b = Buffer.alloc(FRAME_HEADER_BYTES + payloadBytes);
  b.write(type, 0, 'latin1');
  b.writeUInt32BE(payloadBytes, 1);
  return b;
}

/** Reads frames from a byte stream: the header first, then each frame's type as it completes. */
export class FrameReader {
  private buf = Buffer.alloc(0);
  private headerSeen = false;
  bytes = 0;

  /** Feeds `chunk`; returns the types of the frames it completed, or a refusal of the header. */
  push(chunk: Buffer): { frames: FrameType[] } | { error: string } {
    this.bytes += chunk.length;
    this.buf = Buffer.concat([this.buf, chunk]);
    const frames: FrameType[] = [];
    if (!this.headerSeen) {
      if (this.buf.length < HEADER.length) return { frames };
      if (!this.buf.subarray(0, 4).equals(MAGIC))
        return { error: `Unknown magic: 0x${this.buf.readUInt32BE(0).toString(16)}` };
      this.headerSeen = true;
      this.buf = this.buf.subarray(HEADER.length);
    }
    while (this.buf.length >= FRAME_HEADER_BYTES) {
      const len = this.buf.readUInt32BE(1);
      if (this.buf.length < FRAME_HEADER_BYTES + len) break;
      frames.push(this.buf.toString('latin1', 0, 1) as FrameType);
      this.buf = this.buf.subarray(FRAME_HEADER_BYTES + len);
    }
    return { frames };
  }
}
