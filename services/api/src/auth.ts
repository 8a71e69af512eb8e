import { createHash, timingSafeEqual } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { TopoflowError, type TopoflowConfig } from '@topoflow/core'
import bcrypt from 'bcryptjs'

/**
 * Authentication the way Skydive does it: `noauth`, or `basic` with users inline or in an htpasswd
 * file. A basic token is base64("user:password"), the same bytes as an HTTP Basic credential, so
 * the `authtoken` cookie, an `Authorization: Basic` header and `X-Auth-Token` all carry it.
 */
export interface Authenticator {
  readonly enabled: boolean
  readonly backend: string
  /** The token for these credentials, or null when they are wrong. */
  login(username: string, password: string): string | null
  /** The user a token belongs to, or null. */
  verify(token: string): string | null
}

type Checker = (password: string) => boolean

const itoa64 = './0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz'

function md5 (...parts: Buffer[]): Buffer {
  const h = createHash('md5')
  for (const p of parts) h.update(p)
  return h.digest()
}

/** Apache's `$apr1$` MD5-crypt, the default of `htpasswd -m`. */
export function apr1 (password: string, salt: string): string {
  const pw = Buffer.from(password)
  const magic = Buffer.from('$apr1$')
  const s = Buffer.from(salt.slice(0, 8))
  let alt = md5(pw, s, pw)
  const parts: Buffer[] = [pw, magic, s]
  for (let left = pw.length; left > 0; left -= 16) parts.push(alt.subarray(0, Math.min(left, 16)))
  for (let i = pw.length; i > 0; i >>= 1) parts.push((i & 1) === 1 ? Buffer.from([0]) : pw.subarray(0, 1))
  alt = md5(...parts)
  for (let i = 0; i < 1000; i++) {
    const round: Buffer[] = [(i & 1) === 1 ? pw : alt]
    if (i % 3 !== 0) round.push(s)
    if (i % 7 !== 0) round.push(pw)
    round.push((i & 1) === 1 ? alt : pw)
    alt = md5(...round)
  }
  const b = (i: number): number => alt[i] ?? 0
  let out = ''
  const to64 = (v: number, n: number): void => { for (let k = 0; k < n; k++) { out += itoa64[v & 0x3f]; v >>= 6 } }
  to64((b(0) << 16) | (b(6) << 8) | b(12), 4)
  to64((b(1) << 16) | (b(7) << 8) | b(13), 4)
  to64((b(2) << 16) | (b(8) << 8) | b(14), 4)
  to64((b(3) << 16) | (b(9) << 8) | b(15), 4)
  to64((b(4) << 16) | (b(10) << 8) | b(5), 4)
  to64(b(11), 2)
  return `$apr1$${salt.slice(0, 8)}$${out}`
}

function sameString (a: string, b: string): boolean {
  const ha = createHash('sha256').update(a).digest()
  const hb = createHash('sha256').update(b).digest()
  return timingSafeEqual(ha, hb)
}

/** One htpasswd line's hash → a checker: bcrypt (`htpasswd -B`), `$apr1$` (`-m`) and `{SHA}` (`-s`). */
function hashChecker (hash: string, where: string): Checker {
  if (hash.startsWith('{SHA}')) {
    return (pw) => sameString(createHash('sha1').update(pw).digest('base64'), hash.slice(5))
  }
  if (hash.startsWith('$apr1$')) {
    const salt = hash.slice(6).split('$')[0] ?? ''
    return (pw) => sameString(apr1(pw, salt), hash)
  }
  if (/^\$2[aby]\$\d\d\$[./A-Za-z0-9]{53}$/.test(hash)) {
    return (pw) => bcrypt.compareSync(pw, hash)
  }
  if (/^\$2[aby]\$/.test(hash)) throw new TopoflowError('TOPOFLOW_ERR_CONFIG', `${where}: malformed bcrypt hash`)
  throw new TopoflowError('TOPOFLOW_ERR_CONFIG', `${where}: unknown password hash format; use "htpasswd -B" (bcrypt), "htpasswd -m" (MD5) or "htpasswd -s" (SHA1); crypt(3) and plain-text entries are refused`)
}

export function parseHtpasswd (text: string, file: string): Map<string, Checker> {
  const users = new Map<string, Checker>()
  text.split(/\r?\n/).forEach((line, i) => {
    const trimmed = line.trim()
    if (trimmed === '' || trimmed.startsWith('#')) return
    const colon = trimmed.indexOf(':')
    if (colon <= 0) throw new TopoflowError('TOPOFLOW_ERR_CONFIG', `${file}:${i + 1}: expected user:hash`)
    users.set(trimmed.slice(0, colon), hashChecker(trimmed.slice(colon + 1), `${file}:${i + 1}`))
  })
  return users
}

export function basicToken (username: string, password: string): string {
  return Buffer.from(`${username}:${password}`).toString('base64')
}

/** Distinct valid tokens remembered; one per user and password in practice. */
const maxVerifiedTokens = 1024

const noauth: Authenticator = { enabled: false, backend: 'noauth', login: () => '', verify: () => '' }

/** The authenticator named by `analyzer.auth.api.backend`; throws a config error when it is unusable. */
export function createAuthenticator (config: Pick<TopoflowConfig, 'analyzer' | 'auth'>): Authenticator {
  const name = config.analyzer.auth.api.backend
  if (name === 'noauth' || name === '') return noauth
  const backend = config.auth[name]
  if (backend === undefined) {
    throw new TopoflowError('TOPOFLOW_ERR_CONFIG', `analyzer.auth.api.backend is "${name}" but auth.${name} is not defined (known: ${Object.keys(config.auth).join(', ') || 'none'})`)
  }
  if (backend.type === 'noauth') return { ...noauth, backend: name }
  const users = new Map<string, Checker>()
  for (const [user, password] of Object.entries(backend.users ?? {})) users.set(user, (pw) => sameString(pw, password))
  if (backend.file !== undefined) {
    let text: string
    try {
      text = readFileSync(backend.file, 'utf8')
    } catch (err) {
      throw new TopoflowError('TOPOFLOW_ERR_CONFIG', `auth.${name}.file: cannot read ${backend.file}: ${(err as Error).message}`, { cause: err })
    }
    for (const [user, check] of parseHtpasswd(text, backend.file)) users.set(user, check)
  }
  if (users.size === 0) throw new TopoflowError('TOPOFLOW_ERR_CONFIG', `auth.${name}: a basic backend needs users or a file`)
  const check = (username: string, password: string): boolean => users.get(username)?.(password) ?? false
  // Every request carries the password again; a bcrypt check costs tens of ms of CPU, so tokens
  // that passed are remembered (by digest, most recent last) instead of checked each time.
  const verified = new Map<string, string>()
  return {
    enabled: true,
    backend: name,
    login: (username, password) => check(username, password) ? basicToken(username, password) : null,
    verify: (token) => {
      const digest = createHash('sha256').update(token).digest('base64')
      const known = verified.get(digest)
      if (known !== undefined) {
        verified.delete(digest)
        verified.set(digest, known)
        return known
      }
      const decoded = Buffer.from(token, 'base64').toString('utf8')
      const colon = decoded.indexOf(':')
      if (colon < 0) return null
      const user = decoded.slice(0, colon)
      if (!check(user, decoded.slice(colon + 1))) return null
      verified.set(digest, user)
      if (verified.size > maxVerifiedTokens) verified.delete(verified.keys().next().value as string)
      return user
    }
  }
}

/** The token of a request, from (in Skydive's order) the cookie, the Authorization header, X-Auth-Token, the query. */
export function requestToken (req: { headers: Record<string, string | string[] | undefined>, cookies?: Record<string, string | undefined>, query?: unknown }): string | undefined {
  const cookie = req.cookies?.authtoken
  if (cookie !== undefined && cookie !== '') return cookie
  const authz = req.headers.authorization
  if (typeof authz === 'string' && authz !== '') return authz.replace(/^Basic\s+/i, '').trim()
  const header = req.headers['x-auth-token']
  if (typeof header === 'string' && header !== '') return header
  const q = req.query as Record<string, unknown> | undefined
  if (typeof q?.['x-auth-token'] === 'string' && q['x-auth-token'] !== '') return q['x-auth-token']
  return undefined
}
