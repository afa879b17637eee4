/**
 * MLLP framing (HL7 v2 Minimal Lower Layer Protocol, release 2): `0x0B` message `0x1C 0x0D`.
 * Framing works on bytes, before any charset: none of the three bytes occurs inside a UTF-8 or
 * GB18030 multi-byte character.
 */

export const START_BLOCK = 0x0b;
export const END_BLOCK = 0x1c;
export const CARRIAGE_RETURN = 0x0d;

/** Default largest frame a decoder holds (a peer that never ends its frame cannot fill memory). */
const END_OF_FRAME = Buffer.of(END_BLOCK, CARRIAGE_RETURN);

export const MAX_FRAME_BYTES = 16 * 1024 * 1024;

export function frame(payload: Buffer): Buffer {
  return Buffer.concat([Buffer.of(START_BLOCK), payload, END_OF_FRAME]);
}

/**
 * A streaming decoder: `push` each chunk as it arrives; it returns the payloads of the frames it
 * completed, however the chunks split or join them. Bytes outside a frame (a peer's stray
 * newline between frames) are skipped.
 */
export class MllpDecoder {
  /** The bytes of the frame begun so far (after its 0x0B). */
  private partial: Buffer = Buffer.alloc(0);
  private inFrame = false;

  constructor(private readonly maxFrameBytes = MAX_FRAME_BYTES) {}

  push(chunk: Buffer): Buffer[] {
    const frames: Buffer[] = [];
    let data = chunk;
    let offset = 0;
    // where the search for the end may start: one byte back, for a 0x1C that ended the last chunk
    let scanFrom = 0;
    if (this.inFrame) {
      scanFrom = Math.max(0, this.partial.length - 1);
      data = Buffer.concat([this.partial, chunk]);
    }
    for (;;) {
      if (!this.inFrame) {
        const start = data.indexOf(START_BLOCK, offset);
        if (start === -1) {
          data = Buffer.alloc(0);
          offset = 0;
          break;
        }
        this.inFrame = true;
        offset = start + 1;
        scanFrom = offset;
      }
      const end = data.indexOf(END_OF_FRAME, scanFrom);
      if (end === -1) break;
      frames.push(Buffer.from(data.subarray(offset, end)));
      this.inFrame = false;
      offset = end + 2;
    }
    this.partial = this.inFrame ? Buffer.from(data.subarray(offset)) : Buffer.alloc(0);
    if (this.partial.length > this.maxFrameBytes) {
      this.reset();
      throw new Error(`an MLLP frame is larger than ${this.maxFrameBytes} bytes`);
    }
    return frames;
  }

  /** Forgets a partial frame (after a lost connection). */
  reset(): void {
    this.partial = Buffer.alloc(0);
    this.inFrame = false;
  }
}
