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
  /** The length of the frame being read, once its header is in (else -1). */
  private need = -1;

  constructor(private readonly maxFrameBytes: number) {}

  /** The whole frames `chunk` completes (views of the read bytes); a FrameError when a length is above the bound. */
  push(chunk: Buffer): Buffer[] {
    this.pending.push(chunk);
    this.pendingBytes += chunk.length;
    if (this.need < 0) {
      if (this.pendingBytes < FRAME_HEADER_BYTES) return [];
      // A header cut across chunks: joined once (a few bytes).
      if (this.pending[0].length < FRAME_HEADER_BYTES) this.pending = [Buffer.concat(this.pending, this.pendingBytes)];
      this.need = this.length(this.pending[0], 0);
    }
    // Copied together only once the whole frame is in (a large frame arrives in many chunks).
    if (this.pendingBytes < FRAME_HEADER_BYTES + this.need) return [];
    const buf = this.pending.length === 1 ? this.pending[0] : Buffer.concat(this.pending, this.pendingBytes);
    const frames: Buffer[] = [];
    let at = 0;
    this.need = -1;
    while (buf.length - at >= FRAME_HEADER_BYTES) {
      const n = this.length(buf, at);
      if (buf.length - at - FRAME_HEADER_BYTES < n) {
        this.need = n;
        break;
      }
      frames.push(buf.subarray(at + FRAME_HEADER_BYTES, at + FRAME_HEADER_BYTES + n));
      at += FRAME_HEADER_BYTES + n;
    }
    this.pending = at < buf.length ? [buf.subarray(at)] : [];
    this.pendingBytes = buf.length - at;
    return frames;
  }

  private length(buf: Buffer, at: number): number {
    const n = buf.readUInt32BE(at);
    if (n > this.maxFrameBytes) throw new FrameError(`a frame of ${n} bytes, above the bound of ${this.maxFrameBytes}`);
    return n;
  }
}

/**
 * Writes frames to a stream: the first of a turn of the event loop at once
 * (a lone command or answer waits for nothing), those after it in the same
 * turn together, corked until its check phase (as HTTP/2 sessions flush):
 * one system call and one wake-up of the reader per batch, not per frame,
 * when many commands are in flight (answers from a module's worker arrive as
 * separate events of one turn).
 */
export class FrameWriter {
  /** A frame went out this turn. */
  private wrote = false;
  private corked = false;

  constructor(private readonly stream: { cork(): void; uncork(): void; write(b: Uint8Array): unknown }) {}

  write(body: Uint8Array): void {
    if (!this.wrote) {
      this.wrote = true;
      setImmediate(() => {
        this.wrote = false;
        if (this.corked) {
          this.corked = false;
          this.stream.uncork();
        }
      });
      this.stream.write(frame(body));
      return;
    }
    if (!this.corked) {
      this.corked = true;
      this.stream.cork();
    }
    const header = Buffer.allocUnsafe(FRAME_HEADER_BYTES);
    header.writeUInt32BE(body.length, 0);
    this.stream.write(header);
    this.stream.write(body);
  }
}
