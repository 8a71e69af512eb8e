// Number, size and time formatting shared by the panels.

const byteUnits = ['B', 'KiB', 'MiB', 'GiB', 'TiB']

/** @param {number | undefined | null} n */
export function formatBytes (n) {
  if (typeof n !== 'number' || !Number.isFinite(n)) return '–'
  let value = n
  let unit = 0
  while (Math.abs(value) >= 1024 && unit < byteUnits.length - 1) {
    value /= 1024
    unit++
  }
  return `${unit === 0 ? value : value.toFixed(value < 10 ? 1 : 0)} ${byteUnits[unit]}`
}

/** @param {number | undefined | null} n */
export function formatCount (n) {
  if (typeof n !== 'number' || !Number.isFinite(n)) return '–'
  return n.toLocaleString('en-US')
}

/**
 * Epoch ms → "2024-03-01 12:34:56" in local time; '–' for 0/null (Skydive marshals zero times as null).
 * @param {number | undefined | null} ms
 */
export function formatTime (ms) {
  if (typeof ms !== 'number' || ms <= 0) return '–'
  const d = new Date(ms)
  const pad = (/** @type {number} */ v) => String(v).padStart(2, '0')
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`
}

/**
 * Short relative age: "5 s ago", "3 min ago".
 * @param {number} ms
 * @param {number} now
 */
export function formatAge (ms, now) {
  const s = Math.max(0, Math.round((now - ms) / 1000))
  if (s < 60) return `${s} s ago`
  if (s < 3600) return `${Math.floor(s / 60)} min ago`
  if (s < 86400) return `${Math.floor(s / 3600)} h ago`
  return `${Math.floor(s / 86400)} d ago`
}

/**
 * "10.0.0.1:443", "[fd00::1]:443", or just the address when there is no port.
 * @param {unknown} ip
 * @param {unknown} port
 */
export function formatEndpoint (ip, port) {
  const addr = typeof ip === 'string' && ip !== '' ? ip : '?'
  if (typeof port !== 'number' || port === 0) return addr
  return addr.includes(':') ? `[${addr}]:${port}` : `${addr}:${port}`
}

/** @param {string} text @param {number} max */
export function truncate (text, max) {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`
}

/** Any metadata value as one line of text. @param {unknown} value */
export function formatValue (value) {
  if (value === null || value === undefined) return '–'
  if (Array.isArray(value)) return value.every((v) => typeof v !== 'object') ? value.join(', ') : JSON.stringify(value)
  if (typeof value === 'object') return JSON.stringify(value)
  return String(value)
}

/**
 * Quotes a string for a Gremlin literal. Skydive's dialect has no escapes, so pick the quote the
 * value does not contain.
 * @param {string} value
 */
export function gremlinString (value) {
  return value.includes("'") ? `"${value}"` : `'${value}'`
}
