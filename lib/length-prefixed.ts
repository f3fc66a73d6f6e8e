// Length-prefixed frames on a byte stream (module-host's command socket, a
// Unix-domain socket): each frame is a 4-byte big-endian length and that
// many bytes. The reader is bounded: a length above its bound is refused
// before anything of that size is buffered, so a hostile peer costs at most
// one bound's worth of memory.

/** Bytes of the length before each frame. */
export const FRAME_HEADER_BYTES = 4;

/** A frame is ill-formed (its length is above the bound); the connection it came on should end. */
export class FrameError extends Error {}

/** `body` as one frame: its length, then itself. */
export function frame(body: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(FRAME_HEADER_BYTES + body.length);
  out.writeUInt32BE(body.length, 0);
  out.set(body, FRAME_HEADER_BYTES);
  return out;
}

/** Cuts a stream's chunks into frames, whatever the chunks' boundaries. */
export class FrameReader {
  /** Bytes read and not yet a whole frame. */
  private pending: Buffer[] = [];
  private pendingBytes = 0;

  constructor(private readonly maxFrameBytes: number) {}

  /** The whole frames `chunk` completes (views of the read bytes); a FrameError when a length is above the bound. */
  push(chunk: Buffer): Buffer[] {
    this.pending.push(chunk);
    this.pendingBytes += chunk.length;
    if (this.pendingBytes < FRAME_HEADER_BYTES) return [];
    // Copied together only once a whole frame is in (a large frame arrives in many chunks).
    const first = this.pending[0].length >= FRAME_HEADER_BYTES ? this.pending[0] : Buffer.concat(this.pending);
    const length = first.readUInt32BE(0);
    if (length > this.maxFrameBytes) throw new FrameError(`a frame of ${length} bytes, above the bound of ${this.maxFrameBytes}`);
    if (this.pendingBytes < FRAME_HEADER_BYTES + length) return [];
    const buf = this.pending.length === 1 ? this.pending[0] : Buffer.concat(this.pending, this.pendingBytes);
    const frames: Buffer[] = [];
    let at = 0;
    while (buf.length - at >= FRAME_HEADER_BYTES) {
      const n = buf.readUInt32BE(at);
      if (n > this.maxFrameBytes) throw new FrameError(`a frame of ${n} bytes, above the bound of ${this.maxFrameBytes}`);
      if (buf.length - at - FRAME_HEADER_BYTES < n) break;
      frames.push(buf.subarray(at + FRAME_HEADER_BYTES, at + FRAME_HEADER_BYTES + n));
      at += FRAME_HEADER_BYTES + n;
    }
    this.pending = at < buf.length ? [buf.subarray(at)] : [];
    this.pendingBytes = buf.length - at;
    return frames;
  }
}
