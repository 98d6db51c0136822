/**
 * `node scripts/make-icons.mjs`: draws the web app's icons (dashboard/public/icons/icon-192.png,
 * icon-512.png): a white flame on the alarm red, full bleed (usable as `maskable`: the flame stays in
 * the central safe zone). Plain PNG written with zlib, no image library. The PNGs are committed; run
 * this again only to change them.
 */
import { writeFileSync } from 'node:fs';
import { deflateSync } from 'node:zlib';

const RED = [0xc4, 0x16, 0x1c];
const WHITE = [0xff, 0xff, 0xff];

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});
function crc32(buf) {
  let c = 0xffffffff;
  for (const b of buf) c = CRC_TABLE[(c ^ b) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}
function chunk(type, data) {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(data.length);
  const body = Buffer.concat([Buffer.from(type, 'ascii'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body));
  return Buffer.concat([len, body, crc]);
}

/** Is (x, y), in units of the icon's side (0..1), inside the flame? A drop: a disc and a pointed top. */
function inFlame(x, y) {
  const cx = 0.5;
  const cy = 0.6;
  const r = 0.17;
  const apexY = 0.2;
  if ((x - cx) ** 2 + (y - cy) ** 2 <= r * r) return true;
  if (y < apexY || y > cy) return false;
  // Sides curve in from the disc's widest point to the apex.
  const f = (y - apexY) / (cy - apexY);
  const half = r * Math.sin((f * Math.PI) / 2) ** 0.8;
  const lean = 0.04 * (1 - f);
  return Math.abs(x - cx - lean) <= half;
}
/** The inner hole of the flame (red again), so it reads as a flame, not a drop. */
function inCore(x, y) {
  const cx = 0.5;
  const cy = 0.66;
  const r = 0.075;
  if ((x - cx) ** 2 + (y - cy) ** 2 <= r * r) return true;
  const apexY = 0.46;
  if (y < apexY || y > cy) return false;
  const f = (y - apexY) / (cy - apexY);
  return Math.abs(x - cx + 0.015 * (1 - f)) <= r * Math.sin((f * Math.PI) / 2);
}

function icon(size) {
  const S = 4; // 4×4 supersampling
  const raw = Buffer.alloc((size * 3 + 1) * size);
  for (let py = 0; py < size; py++) {
    raw[py * (size * 3 + 1)] = 0;
    for (let px = 0; px < size; px++) {
      let white = 0;
      for (let sy = 0; sy < S; sy++)
        for (let sx = 0; sx < S; sx++) {
          const x = (px + (sx + 0.5) / S) / size;
          const y = (py + (sy + 0.5) / S) / size;
          if (inFlame(x, y) && !inCore(x, y)) white++;
        }
      const a = white / (S * S);
      const o = py * (size * 3 + 1) + 1 + px * 3;
      for (let i = 0; i < 3; i++) raw[o + i] = Math.round(RED[i] * (1 - a) + WHITE[i] * a);
    }
  }
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(size, 0);
  ihdr.writeUInt32BE(size, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 2; // RGB
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    chunk('IDAT', deflateSync(raw, { level: 9 })),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

for (const size of [192, 512]) writeFileSync(new URL(`../dashboard/public/icons/icon-${size}.png`, import.meta.url), icon(size));
