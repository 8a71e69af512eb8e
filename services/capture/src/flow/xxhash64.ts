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

// Halves are kept as signed int32 (small integers to V8: no heap number is allocated for them),
// and the helpers' results go to registers R[0] (high) and R[1] (low): a typed array, because a
// module-level `let` holding a number would allocate on every store.
const R = new Int32Array(2)

/** (ah:al * bh:bl) mod 2^64: the low halves' full product from 16-bit pieces, the cross terms with Math.imul. */
function mul (ah: number, al: number, bh: number, bl: number): void {
  const a0 = al & 0xffff; const a1 = al >>> 16
  const b0 = bl & 0xffff; const b1 = bl >>> 16
  const p00 = a0 * b0; const p01 = a0 * b1; const p10 = a1 * b0
  const mid = (p00 >>> 16) + (p01 & 0xffff) + (p10 & 0xffff)
  R[1] = (((mid & 0xffff) << 16) | (p00 & 0xffff)) | 0
  const carry = a1 * b1 + (p01 >>> 16) + (p10 >>> 16) + (mid >>> 16)
  R[0] = (carry + Math.imul(ah, bl) + Math.imul(al, bh)) | 0
}

function add (ah: number, al: number, bh: number, bl: number): void {
  const lo = (al >>> 0) + (bl >>> 0)
  R[1] = lo | 0
  R[0] = (ah + bh + (lo > 0xffffffff ? 1 : 0)) | 0
}

function rotl (h: number, l: number, n: number): void {
  if (n >= 32) { const t = h; h = l; l = t; n -= 32 }
  if (n === 0) { R[0] = h; R[1] = l; return }
  R[0] = ((h << n) | (l >>> (32 - n))) | 0
  R[1] = ((l << n) | (h >>> (32 - n))) | 0
}

/** acc = rotl(acc + input * P2, 31) * P1 */
function round (acch: number, accl: number, inh: number, inl: number): void {
  mul(inh, inl, P2H, P2L)
  add(acch, accl, (R[0] as number), (R[1] as number))
  rotl((R[0] as number), (R[1] as number), 31)
  mul((R[0] as number), (R[1] as number), P1H, P1L)
}

function readLE32 (b: Uint8Array, i: number): number {
  return ((b[i] as number) | ((b[i + 1] as number) << 8) | ((b[i + 2] as number) << 16) | ((b[i + 3] as number) << 24)) | 0
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
      for (let lane = 0; lane < 4; lane++) {
        round(v[lane * 2] as number, v[lane * 2 + 1] as number, readLE32(data, i + lane * 8 + 4), readLE32(data, i + lane * 8))
        v[lane * 2] = (R[0] as number); v[lane * 2 + 1] = (R[1] as number)
      }
      i += 32
    }
    this.#done = i
    let hh: number; let hl: number
    if (len >= 32) {
      rotl(v[0] as number, v[1] as number, 1); hh = (R[0] as number); hl = (R[1] as number)
      rotl(v[2] as number, v[3] as number, 7); add(hh, hl, (R[0] as number), (R[1] as number)); hh = (R[0] as number); hl = (R[1] as number)
      rotl(v[4] as number, v[5] as number, 12); add(hh, hl, (R[0] as number), (R[1] as number)); hh = (R[0] as number); hl = (R[1] as number)
      rotl(v[6] as number, v[7] as number, 18); add(hh, hl, (R[0] as number), (R[1] as number)); hh = (R[0] as number); hl = (R[1] as number)
      for (let lane = 0; lane < 4; lane++) {
        // the accumulator keeps its multiplication by P2 (the Go package's side effect)
        mul(v[lane * 2] as number, v[lane * 2 + 1] as number, P2H, P2L)
        v[lane * 2] = (R[0] as number); v[lane * 2 + 1] = (R[1] as number)
        rotl((R[0] as number), (R[1] as number), 31); mul((R[0] as number), (R[1] as number), P1H, P1L)
        hh = (hh ^ (R[0] as number)) | 0; hl = (hl ^ (R[1] as number)) | 0
        mul(hh, hl, P1H, P1L); add((R[0] as number), (R[1] as number), P4H, P4L); hh = (R[0] as number); hl = (R[1] as number)
      }
    } else {
      add(this.#seedHi, this.#seedLo, P5H, P5L); hh = (R[0] as number); hl = (R[1] as number)
    }
    add(hh, hl, 0, len); hh = (R[0] as number); hl = (R[1] as number)
    while (i + 8 <= len) {
      round(0, 0, readLE32(data, i + 4), readLE32(data, i))
      hh = (hh ^ (R[0] as number)) | 0; hl = (hl ^ (R[1] as number)) | 0
      rotl(hh, hl, 27); mul((R[0] as number), (R[1] as number), P1H, P1L); add((R[0] as number), (R[1] as number), P4H, P4L); hh = (R[0] as number); hl = (R[1] as number)
      i += 8
    }
    if (i + 4 <= len) {
      mul(0, readLE32(data, i), P1H, P1L)
      hh = (hh ^ (R[0] as number)) | 0; hl = (hl ^ (R[1] as number)) | 0
      rotl(hh, hl, 23); mul((R[0] as number), (R[1] as number), P2H, P2L); add((R[0] as number), (R[1] as number), P3H, P3L); hh = (R[0] as number); hl = (R[1] as number)
      i += 4
    }
    while (i < len) {
      mul(0, data[i] as number, P5H, P5L)
      hh = (hh ^ (R[0] as number)) | 0; hl = (hl ^ (R[1] as number)) | 0
      rotl(hh, hl, 11); mul((R[0] as number), (R[1] as number), P1H, P1L); hh = (R[0] as number); hl = (R[1] as number)
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
