/** Big-endian reads straight off the packet bytes (callers check bounds first). */

export function u16 (d: Uint8Array, i: number): number {
  return ((d[i] as number) << 8) | (d[i + 1] as number)
}

export function u24 (d: Uint8Array, i: number): number {
  return ((d[i] as number) << 16) | ((d[i + 1] as number) << 8) | (d[i + 2] as number)
}

export function u32 (d: Uint8Array, i: number): number {
  return (((d[i] as number) << 24) | ((d[i + 1] as number) << 16) | ((d[i + 2] as number) << 8) | (d[i + 3] as number)) >>> 0
}

const decimal: string[] = []
for (let i = 0; i < 256; i++) decimal.push(String(i))

/** Dotted-quad text (short enough that V8 makes the concatenation one flat string). */
export function formatIPv4 (d: Uint8Array, i: number): string {
  return decimal[d[i] as number] + '.' + decimal[d[i + 1] as number] + '.' + decimal[d[i + 2] as number] + '.' + decimal[d[i + 3] as number]
}

/**
 * RFC 5952 text of an IPv6 address, as Go's net.IP.String prints it: lowercase, the longest run
 * (two groups or more) of zero groups shortened to `::`, and IPv4-mapped addresses in dotted IPv4 form.
 */
export function formatIPv6 (d: Uint8Array, i: number): string {
  let mapped = true
  for (let k = 0; k < 10; k++) if (d[i + k] !== 0) { mapped = false; break }
  if (mapped && d[i + 10] === 0xff && d[i + 11] === 0xff) return formatIPv4(d, i + 12)
  const groups = ipv6Groups
  for (let k = 0; k < 8; k++) groups[k] = u16(d, i + 2 * k)
  let bestStart = -1; let bestLen = 0
  for (let k = 0; k < 8;) {
    if (groups[k] !== 0) { k++; continue }
    let e = k
    while (e < 8 && groups[e] === 0) e++
    if (e - k > bestLen) { bestStart = k; bestLen = e - k }
    k = e
  }
  if (bestLen < 2) bestStart = -1
  let s = ''
  for (let k = 0; k < 8; k++) {
    if (k === bestStart) {
      s += '::'
      k += bestLen - 1
      continue
    }
    if (s !== '' && !s.endsWith(':')) s += ':'
    s += hexGroup(groups[k] as number)
  }
  return s
}

const ipv6Groups = new Int32Array(8)
const hexShort: string[] = []
const hexPadded: string[] = []
for (let i = 0; i < 256; i++) { hexShort.push(i.toString(16)); hexPadded.push(i.toString(16).padStart(2, '0')) }

/** A 16-bit group in hex without leading zeros, as Number#toString(16) writes it. */
function hexGroup (v: number): string {
  return v < 256 ? hexShort[v] as string : (hexShort[v >> 8] as string) + (hexPadded[v & 255] as string)
}

/** Lexicographic comparison of two byte ranges of equal length, like Go's bytes.Compare. */
export function compareRange (a: Uint8Array, ai: number, b: Uint8Array, bi: number, n: number): number {
  for (let k = 0; k < n; k++) {
    const x = a[ai + k] as number; const y = b[bi + k] as number
    if (x !== y) return x < y ? -1 : 1
  }
  return 0
}
