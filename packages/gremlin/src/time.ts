/**
 * Time arguments of `G.At(...)` / `G.Context(...)`: Go durations, RFC1123 (and RFC3339) dates,
 * epoch seconds or milliseconds, `NOW` and `FOREVER`, as Skydive's `parseTimeContext` reads them.
 */

/** A resolved time context: `at` in epoch ms; with `duration` (ms) the window `[at - duration, at]`. */
export interface TimeContext {
  at: number
  duration?: number
}

export type TimePoint =
  | { kind: 'now' }
  | { kind: 'relative', offsetMs: number }
  | { kind: 'absolute', ms: number }

export type TimeWindow =
  | { kind: 'forever' }
  | { kind: 'duration', ms: number }

/** A parsed but not yet resolved time context: relative times need the clock of the query. */
export interface TimeSpec {
  at: TimePoint
  window?: TimeWindow
}

/** Above this, an integer is epoch milliseconds; at or below, epoch seconds (Skydive's rule). */
export const maxInt32 = 2147483647

const durationUnits: Record<string, number> = {
  ns: 1e-6,
  us: 1e-3,
  'µs': 1e-3,
  'μs': 1e-3,
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000
}

/** Parses a Go duration (`'-1m'`, `'1h30m'`, `'1.5h'`, `'90s'`, `'0'`) into milliseconds, or undefined. */
export function parseGoDuration (text: string): number | undefined {
  const match = /^([+-]?)(.+)$/.exec(text)
  if (match === null) return undefined
  const sign = match[1] === '-' ? -1 : 1
  const body = match[2] as string
  if (body === '0') return 0
  const part = /(\d+\.?\d*|\.\d+)(ns|us|µs|μs|ms|s|m|h)/y
  let total = 0
  let index = 0
  while (index < body.length) {
    part.lastIndex = index
    const p = part.exec(body)
    if (p === null) return undefined
    total += Number(p[1]) * (durationUnits[p[2] as string] as number)
    index = part.lastIndex
  }
  return index === 0 ? undefined : sign * total
}

const months = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec']

// RFC 822 zone names; Go reads any other abbreviation as UTC unless it is the local zone.
const zoneOffsetsHours: Record<string, number> = {
  GMT: 0, UTC: 0, UT: 0, Z: 0, EST: -5, EDT: -4, CST: -6, CDT: -5, MST: -7, MDT: -6, PST: -8, PDT: -7
}

/** `Mon, 02 Jan 2006 15:04:05 MST` (RFC1123) or with a numeric zone (RFC1123Z); epoch ms or undefined. */
export function parseRfc1123 (text: string): number | undefined {
  const m = /^(Mon|Tue|Wed|Thu|Fri|Sat|Sun), (\d{2}) (\w{3}) (\d{4}) (\d{2}):(\d{2}):(\d{2}) ([A-Za-z]{1,5}|[+-]\d{4})$/.exec(text)
  if (m === null) return undefined
  const month = months.indexOf(m[3] as string)
  if (month === -1) return undefined
  const [day, year, hour, minute, second] = [m[2], m[4], m[5], m[6], m[7]].map(Number) as [number, number, number, number, number]
  if (day < 1 || day > 31 || hour > 23 || minute > 59 || second > 59) return undefined
  const zone = m[8] as string
  let offsetMinutes = 0
  if (zone.startsWith('+') || zone.startsWith('-')) {
    const sign = zone.startsWith('-') ? -1 : 1
    offsetMinutes = sign * (Number(zone.slice(1, 3)) * 60 + Number(zone.slice(3, 5)))
  } else {
    offsetMinutes = (zoneOffsetsHours[zone.toUpperCase()] ?? 0) * 60
  }
  const utc = Date.UTC(year, month, day, hour, minute, second)
  if (new Date(utc).getUTCDate() !== day) return undefined
  return utc - offsetMinutes * 60_000
}

/** `2006-01-02T15:04:05Z` / `...05.123+02:00` (RFC3339), epoch ms or undefined. */
export function parseRfc3339 (text: string): number | undefined {
  if (!/^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/.test(text)) return undefined
  const ms = Date.parse(text.replace(' ', 'T'))
  return Number.isNaN(ms) ? undefined : ms
}

/** Reads the first `At` argument when it is a string; undefined if it is in no known format. */
export function parseTimePointString (text: string): TimePoint | undefined {
  if (text.toLowerCase() === 'now') return { kind: 'now' }
  const absolute = parseRfc1123(text) ?? parseRfc3339(text)
  if (absolute !== undefined) return { kind: 'absolute', ms: absolute }
  const offset = parseGoDuration(text)
  if (offset !== undefined) return { kind: 'relative', offsetMs: offset }
  return undefined
}

/** An integer `At` argument: epoch milliseconds above 2^31-1, else epoch seconds. */
export function epochToMs (value: number): number {
  return value > maxInt32 ? value : value * 1000
}

export function resolveTimeSpec (spec: TimeSpec, now: number): TimeContext {
  let at: number
  switch (spec.at.kind) {
    case 'now': at = now; break
    case 'relative': at = now + spec.at.offsetMs; break
    case 'absolute': at = spec.at.ms; break
  }
  if (spec.window === undefined) return { at }
  // FOREVER: a window that reaches back to the epoch
  const duration = spec.window.kind === 'forever' ? Math.max(at, 0) : spec.window.ms
  return { at, duration }
}

/** The `[from, to]` window of a time context (a point in time is the window `[at, at]`). */
export function timeWindow (time: TimeContext): { from: number, to: number } {
  return { from: time.at - (time.duration ?? 0), to: time.at }
}
