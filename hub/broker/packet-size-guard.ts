/**
 * Aedes' parser accepts MQTT packets up to 256 MB: one client could exhaust a Pi's memory.
 * This guard reads the MQTT fixed headers as bytes flow from the socket to the broker and cuts the
 * connection as soon as a packet announces a remaining length above the limit — before buffering it.
 * Pure framing logic; the broker adapter feeds it what the socket delivers.
 */
export class PacketSizeGuard {
  /** Bytes of the current packet still to skip (its body). */
  private skip = 0;
  /** Header state: 0 = expecting the type byte, 1..4 = reading the remaining-length varint. */
  private headerPos = 0;
  private length = 0;
  private multiplier = 1;

  constructor(private maxPacketBytes: number) {}

  /** Changes the limit from the next packet on (an authenticated gateway may send larger ones). */
  setLimit(maxPacketBytes: number): void {
    this.maxPacketBytes = maxPacketBytes;
  }

  /** Scans a chunk; returns an error message when a packet is too large or malformed. */
  feed(chunk: Uint8Array): string | null {
    let i = 0;
    while (i < chunk.length) {
      if (this.skip > 0) {
        const n = Math.min(this.skip, chunk.length - i);
        this.skip -= n;
        i += n;
        continue;
      }
      const byte = chunk[i++]!;
      if (this.headerPos === 0) {
        this.headerPos = 1;
        this.length = 0;
        this.multiplier = 1;
        continue;
      }
      this.length += (byte & 0x7f) * this.multiplier;
      this.multiplier *= 128;
      if (byte & 0x80) {
        if (++this.headerPos > 4) return 'malformed remaining length';
        continue;
      }
      if (this.length > this.maxPacketBytes) return `packet of ${this.length} bytes exceeds the ${this.maxPacketBytes}-byte limit`;
      this.skip = this.length;
      this.headerPos = 0;
    }
    return null;
  }
}
