/**
 * XXH64 (the xxHash 64-bit algorithm), which Skydive uses for flow keys, TrackingID and UUID.
 * Written over pairs of uint32 (hi, lo) so that no BigInt is created per hash: a flow's four hashes
 * are computed when the flow is created, which must stay cheap with 100k+ new flows per second.
 */

// P1..P5 of the algorithm, as (hi, lo) halves.
const P1H = 0x9e3779b1; const P1L = 0x85ebca87
const P2H = 0xc2b2ae3d; const P2L = 0x27d4eb4f
const P3H = 0x165667b1; const P3L = 0x9e3779f9
const P4H = 0x85ebca77; const P4L = 0xc2b2ae63
const P5H = 0x27d4eb2f; const P5L = 0x165667c5

// Result registers of the 64-bit helpers below (avoids allocating a pair per operation).
let rh = 0
let rl = 0

function mul (ah: number, al: number, bh: number, bl: number): void {
  const a00 = al & 0xffff; const a16 = al >>> 16; const a32 = ah & 0xffff; const a48 = ah >>> 16
  const b00 = bl & 0xffff; const b16 = bl >>> 16; const b32 = bh & 0xffff; const b48 = bh >>> 16
  const c00 = a00 * b00
  const c16 = (c00 >>> 16) + a16 * b00 + a00 * b16
  const c32 = Math.floor(c16 / 65536) + a32 * b00 + a16 * b16 + a00 * b32
  const c48 = Math.floor(c32 / 65536) + a48 * b00 + a32 * b16 + a16 * b32 + a00 * b48
  rl = (((c16 & 0xffff) << 16) | (c00 & 0xffff)) >>> 0
  rh = (((c48 & 0xffff) << 16) | (c32 & 0xffff)) >>> 0
}

function add (ah: number, al: number, bh: number, bl: number): void {
  const lo = al + bl
  rl = lo >>> 0
  rh = (ah + bh + (lo > 0xffffffff ? 1 : 0)) >>> 0
}

function rotl (h: number, l: number, n: number): void {
  if (n >= 32) { const t = h; h = l; l = t; n -= 32 }
  if (n === 0) { rh = h; rl = l; return }
  rh = ((h << n) | (l >>> (32 - n))) >>> 0
  rl = ((l << n) | (h >>> (32 - n))) >>> 0
}

/** acc = rotl(acc + input * P2, 31) * P1 */
function round (acch: number, accl: number, inh: number, inl: number): void {
  mul(inh, inl, P2H, P2L)
  add(acch, accl, rh, rl)
  rotl(rh, rl, 31)
  mul(rh, rl, P1H, P1L)
}

function readLE32 (b: Uint8Array, i: number): number {
  return ((b[i] as number) | ((b[i + 1] as number) << 8) | ((b[i + 2] as number) << 16) | ((b[i + 3] as number) << 24)) >>> 0
}

/**
 * Streaming XXH64 that reproduces the Go package Skydive hashes flow keys with
 * (github.com/pierrec/xxHash v0.1.5): its Sum64 multiplies the four accumulators by P2 *in
 * place* once 32 bytes have been written, so a Sum64 taken in the middle of the input (Skydive
 * takes the L3 key, then the L2 key, then the full key from one hasher) changes every later
 * digest. With a single final `sum` the result is standard XXH64.
 *
 * Usage: `reset(seed)`, then `sum(data, n, out)` for growing prefixes `n` of the same `data`.
 */
export class StreamingXXH64 {
  #seedHi = 0
  #seedLo = 0
  #v = new Uint32Array(8)
  /** Bytes already folded into the accumulators (a multiple of 32). */
  #done = 0

  reset (seedHi: number, seedLo: number): void {
    this.#seedHi = seedHi >>> 0
    this.#seedLo = seedLo >>> 0
    const v = this.#v
    add(seedHi, seedLo, P1H, P1L); add(rh, rl, P2H, P2L); v[0] = rh; v[1] = rl
    add(seedHi, seedLo, P2H, P2L); v[2] = rh; v[3] = rl
    v[4] = seedHi >>> 0; v[5] = seedLo >>> 0
    // seed - P1 == seed + (2^64 - P1)
    add(seedHi, seedLo, (~P1H) >>> 0, ((~P1L) + 1) >>> 0); v[6] = rh; v[7] = rl
    this.#done = 0
  }

  /** Digest of `data[0, len)` into out[0] (hi) and out[1] (lo); `len` never decreases between calls. */
  sum (data: Uint8Array, len: number, out: Uint32Array): void {
    const v = this.#v
    let i = this.#done
    while (i + 32 <= len) {
      for (let lane = 0; lane < 4; lane++) {
        round(v[lane * 2] as number, v[lane * 2 + 1] as number, readLE32(data, i + lane * 8 + 4), readLE32(data, i + lane * 8))
        v[lane * 2] = rh; v[lane * 2 + 1] = rl
      }
      i += 32
    }
    this.#done = i
    let hh: number; let hl: number
    if (len >= 32) {
      rotl(v[0] as number, v[1] as number, 1); hh = rh; hl = rl
      rotl(v[2] as number, v[3] as number, 7); add(hh, hl, rh, rl); hh = rh; hl = rl
      rotl(v[4] as number, v[5] as number, 12); add(hh, hl, rh, rl); hh = rh; hl = rl
      rotl(v[6] as number, v[7] as number, 18); add(hh, hl, rh, rl); hh = rh; hl = rl
      for (let lane = 0; lane < 4; lane++) {
        // the accumulator keeps its multiplication by P2 (the Go package's side effect)
        mul(v[lane * 2] as number, v[lane * 2 + 1] as number, P2H, P2L)
        v[lane * 2] = rh; v[lane * 2 + 1] = rl
        rotl(rh, rl, 31); mul(rh, rl, P1H, P1L)
        hh = (hh ^ rh) >>> 0; hl = (hl ^ rl) >>> 0
        mul(hh, hl, P1H, P1L); add(rh, rl, P4H, P4L); hh = rh; hl = rl
      }
    } else {
      add(this.#seedHi, this.#seedLo, P5H, P5L); hh = rh; hl = rl
    }
    add(hh, hl, 0, len); hh = rh; hl = rl
    while (i + 8 <= len) {
      round(0, 0, readLE32(data, i + 4), readLE32(data, i))
      hh = (hh ^ rh) >>> 0; hl = (hl ^ rl) >>> 0
      rotl(hh, hl, 27); mul(rh, rl, P1H, P1L); add(rh, rl, P4H, P4L); hh = rh; hl = rl
      i += 8
    }
    if (i + 4 <= len) {
      mul(0, readLE32(data, i), P1H, P1L)
      hh = (hh ^ rh) >>> 0; hl = (hl ^ rl) >>> 0
      rotl(hh, hl, 23); mul(rh, rl, P2H, P2L); add(rh, rl, P3H, P3L); hh = rh; hl = rl
      i += 4
    }
    while (i < len) {
      mul(0, data[i] as number, P5H, P5L)
      hh = (hh ^ rh) >>> 0; hl = (hl ^ rl) >>> 0
      rotl(hh, hl, 11); mul(rh, rl, P1H, P1L); hh = rh; hl = rl
      i++
    }
    // avalanche: h ^= h >> 33; h *= P2; h ^= h >> 29; h *= P3; h ^= h >> 32
    hl = (hl ^ (hh >>> 1)) >>> 0
    mul(hh, hl, P2H, P2L); hh = rh; hl = rl
    hl = (hl ^ ((hl >>> 29) | (hh << 3))) >>> 0
    hh = (hh ^ (hh >>> 29)) >>> 0
    mul(hh, hl, P3H, P3L); hh = rh; hl = rl
    hl = (hl ^ hh) >>> 0
    out[0] = hh; out[1] = hl
  }
}

const oneShot = new StreamingXXH64()

/** Standard XXH64 of `data[0, len)` with a 64-bit seed (hi, lo), into out[0] (hi) and out[1] (lo). */
export function xxh64Into (data: Uint8Array, len: number, seedHi: number, seedLo: number, out: Uint32Array): void {
  oneShot.reset(seedHi, seedLo)
  oneShot.sum(data, len, out)
}

/** Hex digest the way Go's strconv.FormatUint(v, 16) prints it: lowercase, no leading zeros. */
export function hex64 (hi: number, lo: number): string {
  if (hi === 0) return lo.toString(16)
  return hi.toString(16) + lo.toString(16).padStart(8, '0')
}
