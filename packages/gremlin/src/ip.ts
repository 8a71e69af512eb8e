import { isIP } from 'node:net'

/** Dotted IPv4 (no leading zeros beyond a lone 0) to an unsigned 32-bit integer, or undefined. */
export function parseIPv4 (text: string): number | undefined {
  const parts = text.split('.')
  if (parts.length !== 4) return undefined
  let value = 0
  for (const p of parts) {
    if (!/^(0|[1-9]\d{0,2})$/.test(p)) return undefined
    const n = Number(p)
    if (n > 255) return undefined
    value = value * 256 + n
  }
  return value
}

export interface Ipv4Cidr {
  first: number
  last: number
}

/** Parses `a.b.c.d/n` (prefix required, like Go's net.ParseCIDR); undefined if invalid. */
export function parseIPv4Cidr (text: string): Ipv4Cidr | undefined {
  const m = /^([^/]+)\/(\d{1,2})$/.exec(text)
  if (m === null) return undefined
  const base = parseIPv4(m[1] as string)
  const bits = Number(m[2])
  if (base === undefined || bits > 32) return undefined
  const size = 2 ** (32 - bits)
  const first = Math.floor(base / size) * size
  return { first, last: first + size - 1 }
}

/**
 * IPV4RANGE semantics: the value is an IPv4 address, optionally followed by a `/nn` prefix length
 * (interfaces' `IPV4` metadata holds CIDR strings), that lies inside the range.
 */
export function ipv4InRange (value: string, range: Ipv4Cidr): boolean {
  const m = /^([0-9.]+)(\/\d{1,2})?$/.exec(value)
  if (m === null) return false
  const ip = parseIPv4(m[1] as string)
  return ip !== undefined && ip >= range.first && ip <= range.last
}

/** 16 bytes of an IPv4 or IPv6 address (IPv4 as IPv4-mapped IPv6), or undefined. */
export function ipBytes (text: string): Uint8Array | undefined {
  const kind = isIP(text)
  if (kind === 4) {
    const v = parseIPv4(text) ?? 0
    const out = new Uint8Array(16)
    out[10] = 0xff
    out[11] = 0xff
    out[12] = (v >>> 24) & 0xff
    out[13] = (v >>> 16) & 0xff
    out[14] = (v >>> 8) & 0xff
    out[15] = v & 0xff
    return out
  }
  if (kind !== 6) return undefined
  let text6 = text
  const out = new Uint8Array(16)
  // an embedded IPv4 tail (::ffff:10.0.0.1) becomes two hextets
  const v4tail = /(\d+\.\d+\.\d+\.\d+)$/.exec(text6)
  if (v4tail !== null) {
    const v = parseIPv4(v4tail[1] as string) ?? 0
    text6 = text6.slice(0, v4tail.index) + `${((v >>> 16) & 0xffff).toString(16)}:${(v & 0xffff).toString(16)}`
  }
  const [head = '', tail] = text6.split('::')
  const headParts = head === '' ? [] : head.split(':')
  const tailParts = tail === undefined || tail === '' ? [] : tail.split(':')
  const hextets = [...headParts, ...new Array(8 - headParts.length - tailParts.length).fill('0'), ...tailParts]
  hextets.forEach((h, i) => {
    const n = parseInt(h, 16)
    out[i * 2] = (n >> 8) & 0xff
    out[i * 2 + 1] = n & 0xff
  })
  return out
}

/** Same address, whatever its spelling (`10.0.0.1` equals `::ffff:10.0.0.1`). */
export function sameIP (a: string, b: string): boolean {
  if (a === b) return true
  const x = ipBytes(a)
  const y = ipBytes(b)
  return x !== undefined && y !== undefined && x.every((v, i) => v === y[i])
}

/** Does `prefix` (`a.b.c.d/n` or `x::/n`) contain `ip`? */
export function cidrContains (prefix: string, ip: string): boolean {
  const m = /^(.+)\/(\d{1,3})$/.exec(prefix)
  if (m === null) return false
  const net = ipBytes(m[1] as string)
  const addr = ipBytes(ip)
  if (net === undefined || addr === undefined) return false
  const v4 = isIP(m[1] as string) === 4
  let bits = Number(m[2]) + (v4 ? 96 : 0)
  if (bits > 128) return false
  if (v4 !== (isIP(ip) === 4 || addr.slice(0, 12).every((v, i) => v === (i < 10 ? 0 : 0xff)))) return false
  for (let i = 0; i < 16 && bits > 0; i++, bits -= 8) {
    const mask = bits >= 8 ? 0xff : (0xff << (8 - bits)) & 0xff
    if (((net[i] as number) & mask) !== ((addr[i] as number) & mask)) return false
  }
  return true
}

export function isDefaultRoute (prefix: string): boolean {
  return prefix === '0.0.0.0/0' || prefix === '::/0'
}
