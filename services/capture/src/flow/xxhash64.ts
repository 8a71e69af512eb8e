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

// Halves are kept as signed int32 (small integers to V8: no heap number is allocated for them).
// A 64-bit result leaves a helper through R[0] (high) and R[1] (low): a typed array, because a
// module-level `let` holding a number would allocate on every store. The steps of the algorithm
// are written out over local variables, so that R is touched once per multiplication.
const R = new Int32Array(2)
const TWO_POW_M16 = 1 / 65536

/** R = (ah:al * bh:bl) mod 2^64: the low word by Math.imul, its carry from two exact 16-bit partial products. */
function mul (ah: number, al: number, bh: number, bl: number): void {
  const a = al >>> 0
  const b = bl >>> 0
  // a * b = a1 * b * 2^16 + a0 * b, each partial product below 2^48 (exact in a double)
  const p0 = (a & 0xffff) * b
  const p1 = (a >>> 16) * b
  const carry = Math.floor((Math.floor(p0 * TWO_POW_M16) + p1) * TWO_POW_M16)
  R[0] = (carry + Math.imul(ah, bl) + Math.imul(al, bh)) | 0
  R[1] = Math.imul(al, bl)
}

function readLE32 (b: Uint8Array, i: number): number {
  return ((b[i] as number) | ((b[i + 1] as number) << 8) | ((b[i + 2] as number) << 16) | ((b[i + 3] as number) << 24)) | 0
}

/** Accumulator lane `i` of `v` (hi at v[i], lo at v[i + 1]) = rotl(lane + input * P2, 31) * P1. */
function laneRound (v: Int32Array, i: number, inh: number, inl: number): void {
  mul(inh, inl, P2H, P2L)
  const sl = ((v[i + 1] as number) >>> 0) + ((R[1] as number) >>> 0)
  const sh = ((v[i] as number) + (R[0] as number) + (sl > 0xffffffff ? 1 : 0)) | 0
  mul((sh << 31) | (sl >>> 1), (sl << 31) | (sh >>> 1), P1H, P1L)
  v[i] = R[0] as number; v[i + 1] = R[1] as number
}

/** 64-bit addition of (ah, al) and (bh, bl) into R. */
function add (ah: number, al: number, bh: number, bl: number): void {
  const lo = (al >>> 0) + (bl >>> 0)
  R[1] = lo | 0
  R[0] = (ah + bh + (lo > 0xffffffff ? 1 : 0)) | 0
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
  #v = new Int32Array(8)
  /** Bytes already folded into the accumulators (a multiple of 32). */
  #done = 0

  reset (seedHi: number, seedLo: number): void {
    this.#seedHi = seedHi | 0
    this.#seedLo = seedLo | 0
    const v = this.#v
    add(seedHi, seedLo, P1H, P1L); add((R[0] as number), (R[1] as number), P2H, P2L); v[0] = (R[0] as number); v[1] = (R[1] as number)
    add(seedHi, seedLo, P2H, P2L); v[2] = (R[0] as number); v[3] = (R[1] as number)
    v[4] = seedHi | 0; v[5] = seedLo | 0
    // seed - P1 == seed + (2^64 - P1)
    add(seedHi, seedLo, (~P1H) | 0, ((~P1L) + 1) | 0); v[6] = (R[0] as number); v[7] = (R[1] as number)
    this.#done = 0
  }

  /** Digest of `data[0, len)` into out[0] (hi) and out[1] (lo); `len` never decreases between calls. */
  sum (data: Uint8Array, len: number, out: Uint32Array): void {
    const v = this.#v
    let i = this.#done
    while (i + 32 <= len) {
      laneRound(v, 0, readLE32(data, i + 4), readLE32(data, i))
      laneRound(v, 2, readLE32(data, i + 12), readLE32(data, i + 8))
      laneRound(v, 4, readLE32(data, i + 20), readLE32(data, i + 16))
      laneRound(v, 6, readLE32(data, i + 28), readLE32(data, i + 24))
      i += 32
    }
    this.#done = i
    let hh: number; let hl: number
    if (len >= 32) {
      const v0 = v[0] as number; const v1 = v[1] as number; const v2 = v[2] as number; const v3 = v[3] as number
      const v4 = v[4] as number; const v5 = v[5] as number; const v6 = v[6] as number; const v7 = v[7] as number
      // rotl(v1, 1) + rotl(v2, 7) + rotl(v3, 12) + rotl(v4, 18)
      add((v0 << 1) | (v1 >>> 31), (v1 << 1) | (v0 >>> 31), (v2 << 7) | (v3 >>> 25), (v3 << 7) | (v2 >>> 25))
      add(R[0] as number, R[1] as number, (v4 << 12) | (v5 >>> 20), (v5 << 12) | (v4 >>> 20))
      add(R[0] as number, R[1] as number, (v6 << 18) | (v7 >>> 14), (v7 << 18) | (v6 >>> 14))
      hh = R[0] as number; hl = R[1] as number
      for (let lane = 0; lane < 8; lane += 2) {
        // the accumulator keeps its multiplication by P2 (the Go package's side effect)
        mul(v[lane] as number, v[lane + 1] as number, P2H, P2L)
        const mh = R[0] as number; const ml = R[1] as number
        v[lane] = mh; v[lane + 1] = ml
        mul((mh << 31) | (ml >>> 1), (ml << 31) | (mh >>> 1), P1H, P1L)
        mul(hh ^ (R[0] as number), hl ^ (R[1] as number), P1H, P1L)
        add(R[0] as number, R[1] as number, P4H, P4L)
        hh = R[0] as number; hl = R[1] as number
      }
    } else {
      add(this.#seedHi, this.#seedLo, P5H, P5L); hh = (R[0] as number); hl = (R[1] as number)
    }
    add(hh, hl, 0, len); hh = (R[0] as number); hl = (R[1] as number)
    while (i + 8 <= len) {
      // h = rotl(h ^ round(0, input), 27) * P1 + P4
      mul(readLE32(data, i + 4), readLE32(data, i), P2H, P2L)
      const mh = R[0] as number; const ml = R[1] as number
      mul((mh << 31) | (ml >>> 1), (ml << 31) | (mh >>> 1), P1H, P1L)
      const xh = hh ^ (R[0] as number); const xl = hl ^ (R[1] as number)
      mul((xh << 27) | (xl >>> 5), (xl << 27) | (xh >>> 5), P1H, P1L)
      add(R[0] as number, R[1] as number, P4H, P4L); hh = (R[0] as number); hl = (R[1] as number)
      i += 8
    }
    if (i + 4 <= len) {
      // h = rotl(h ^ (uint32 input * P1), 23) * P2 + P3
      mul(0, readLE32(data, i), P1H, P1L)
      const xh = hh ^ (R[0] as number); const xl = hl ^ (R[1] as number)
      mul((xh << 23) | (xl >>> 9), (xl << 23) | (xh >>> 9), P2H, P2L)
      add(R[0] as number, R[1] as number, P3H, P3L); hh = (R[0] as number); hl = (R[1] as number)
      i += 4
    }
    while (i < len) {
      // h = rotl(h ^ (byte * P5), 11) * P1
      mul(0, data[i] as number, P5H, P5L)
      const xh = hh ^ (R[0] as number); const xl = hl ^ (R[1] as number)
      mul((xh << 11) | (xl >>> 21), (xl << 11) | (xh >>> 21), P1H, P1L)
      hh = (R[0] as number); hl = (R[1] as number)
      i++
    }
    // avalanche: h ^= h >> 33; h *= P2; h ^= h >> 29; h *= P3; h ^= h >> 32
    hl = (hl ^ (hh >>> 1)) | 0
    mul(hh, hl, P2H, P2L); hh = (R[0] as number); hl = (R[1] as number)
    hl = (hl ^ ((hl >>> 29) | (hh << 3))) | 0
    hh = (hh ^ (hh >>> 29)) | 0
    mul(hh, hl, P3H, P3L); hh = (R[0] as number); hl = (R[1] as number)
    hl = (hl ^ hh) | 0
    out[0] = hh; out[1] = hl
  }
}

const oneShot = new StreamingXXH64()

/** Standard XXH64 of `data[0, len)` with a 64-bit seed (hi, lo), into out[0] (hi) and out[1] (lo). */
export function xxh64Into (data: Uint8Array, len: number, seedHi: number, seedLo: number, out: Uint32Array): void {
  oneShot.reset(seedHi, seedLo)
  oneShot.sum(data, len, out)
}

const hexDigits = Buffer.from('0123456789abcdef', 'latin1')

/** Hex digest the way Go's strconv.FormatUint(v, 16) prints it: lowercase, no leading zeros. */
export function hex64 (hi: number, lo: number): string {
  // One flat string from char codes: Number#toString(16) is slow, a Buffer's toString costs
  // more than the string, and concatenation would keep a tree of strings per flow.
  const c = hexDigits
  const s = String.fromCharCode(
    c[(hi >>> 28) & 15] as number, c[(hi >>> 24) & 15] as number, c[(hi >>> 20) & 15] as number, c[(hi >>> 16) & 15] as number,
    c[(hi >>> 12) & 15] as number, c[(hi >>> 8) & 15] as number, c[(hi >>> 4) & 15] as number, c[hi & 15] as number,
    c[(lo >>> 28) & 15] as number, c[(lo >>> 24) & 15] as number, c[(lo >>> 20) & 15] as number, c[(lo >>> 16) & 15] as number,
    c[(lo >>> 12) & 15] as number, c[(lo >>> 8) & 15] as number, c[(lo >>> 4) & 15] as number, c[lo & 15] as number)
  if ((hi >>> 28) !== 0) return s
  let first = 0
  while (first < 15 && s.charCodeAt(first) === 48) first++
  return s.slice(first)
}

/** Writes hex64(hi, lo) as ASCII bytes at `out[o]`; returns the number of bytes written. */
export function hex64Into (hi: number, lo: number, out: Uint8Array, o: number): number {
  let digits = 16
  while (digits > 1 && ((digits > 8 ? hi >>> (4 * (digits - 9)) : lo >>> (4 * (digits - 1))) & 15) === 0) digits--
  for (let i = 0; i < digits; i++) {
    const d = digits - 1 - i
    out[o + i] = hexDigits[(d >= 8 ? hi >>> (4 * (d - 8)) : lo >>> (4 * d)) & 15] as number
  }
  return digits
}
