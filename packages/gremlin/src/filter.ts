import type { MatchValue, Param } from './ast.ts'
import { isLiteral } from './ast.ts'
import { evalError } from './errors.ts'
import { matchBoolean, matchInteger, matchString, notFound, toInteger } from './fields.ts'
import type { FieldReader } from './fields.ts'
import { ipv4InRange, parseIPv4Cidr } from './ip.ts'
import { compileAnchoredRegex } from './regex.ts'

/**
 * A filter over fields, built from `Has(...)` arguments. It is plain data on purpose: the in-memory
 * evaluator below runs it, and a store (OpenSearch) can translate it into its own query language.
 * Semantics follow Skydive's `graffiti/filters`: a `term` on an array field matches if any element
 * matches; numbers are compared as integers.
 */
export type Filter =
  | { op: 'and' | 'or', filters: Filter[] }
  | { op: 'not', filter: Filter }
  | { op: 'term', key: string, value: string | number | boolean }
  | { op: 'lt' | 'gt' | 'lte' | 'gte', key: string, value: number }
  /** `pattern` is the user's pattern; it matches the whole value (anchored). */
  | { op: 'regex', key: string, pattern: string }
  | { op: 'ipv4range', key: string, cidr: string }
  /** the key is absent */
  | { op: 'null', key: string }

export const and = (...filters: Filter[]): Filter => ({ op: 'and', filters })
export const or = (...filters: Filter[]): Filter => ({ op: 'or', filters })
export const not = (filter: Filter): Filter => ({ op: 'not', filter })
export const notNull = (key: string): Filter => not({ op: 'null', key })

/** Filter for one `key, value` pair of a `Has`, with Skydive's meaning of each predicate. */
export function keyValueToFilter (key: string, value: MatchValue): Filter {
  if (isLiteral(value)) {
    return { op: 'term', key, value: typeof value === 'number' ? Math.trunc(value) : value }
  }
  switch (value.name) {
    case 'NE': {
      // key present AND different (NE on a boolean means "the other boolean")
      const v = value.value
      return and(notNull(key), typeof v === 'boolean' ? { op: 'term', key, value: !v } : not(keyValueToFilter(key, v)))
    }
    case 'NEE': {
      const v = value.value
      return typeof v === 'boolean' ? { op: 'term', key, value: !v } : not(keyValueToFilter(key, v))
    }
    case 'LT': return { op: 'lt', key, value: value.value }
    case 'GT': return { op: 'gt', key, value: value.value }
    case 'LTE': return { op: 'lte', key, value: value.value }
    case 'GTE': return { op: 'gte', key, value: value.value }
    case 'INSIDE': return and({ op: 'gt', key, value: value.from }, { op: 'lt', key, value: value.to })
    case 'BETWEEN': return and({ op: 'gte', key, value: value.from }, { op: 'lt', key, value: value.to })
    // Skydive defines OUTSIDE as x<a AND x>b, which never matches (and has no keyword for it);
    // we give it the meaning its name promises.
    case 'OUTSIDE': return or({ op: 'lt', key, value: value.from }, { op: 'gt', key, value: value.to })
    case 'WITHIN': return or(...value.values.map((v) => keyValueToFilter(key, v)))
    case 'WITHOUT': return and(...value.values.map((v) => not(keyValueToFilter(key, v))))
    case 'REGEX': return { op: 'regex', key, pattern: value.pattern }
    case 'IPV4RANGE': return { op: 'ipv4range', key, cidr: value.cidr }
  }
}

/**
 * `Has`-style arguments to a filter: one key means "key exists", pairs are combined with `op`.
 * `splitAB` gives flow keys `Network`, `Link` and `Transport` their "A or B" meaning.
 */
export function paramsToFilter (op: 'and' | 'or', params: Param[], splitAB = false): Filter {
  if (params.length === 1) {
    const key = params[0]
    if (typeof key !== 'string') throw evalError('Key must be a string')
    return notNull(key)
  }
  if (params.length % 2 !== 0) throw evalError('params should be a list of key,value')
  const filters: Filter[] = []
  for (let i = 0; i < params.length; i += 2) {
    const key = params[i]
    const value = params[i + 1]
    if (typeof key !== 'string') throw evalError('keys should be of string type')
    if (!isLiteral(value) && !(typeof value === 'object' && value.kind === 'predicate')) {
      throw evalError(`unsupported value for key '${key}'`)
    }
    if (splitAB && (key === 'Network' || key === 'Link' || key === 'Transport')) {
      filters.push(or(keyValueToFilter(`${key}.A`, value), keyValueToFilter(`${key}.B`, value)))
    } else {
      filters.push(keyValueToFilter(key, value))
    }
  }
  return { op, filters }
}

const regexCache = new Map<string, RegExp>()
const maxCachedRegexes = 256

function cachedRegex (pattern: string): RegExp {
  let re = regexCache.get(pattern)
  if (re === undefined) {
    re = compileAnchoredRegex(pattern)
    if (regexCache.size >= maxCachedRegexes) regexCache.clear()
    regexCache.set(pattern, re)
  }
  return re
}

/** Runs a filter against one element, reading its fields through `read`. */
export function evalFilter (filter: Filter, read: FieldReader): boolean {
  switch (filter.op) {
    case 'and': return filter.filters.every((f) => evalFilter(f, read))
    // an empty OR matches everything, as in Skydive
    case 'or': return filter.filters.length === 0 || filter.filters.some((f) => evalFilter(f, read))
    case 'not': return !evalFilter(filter.filter, read)
    case 'null': return read(filter.key) === notFound
    case 'term': {
      const v = read(filter.key)
      if (v === notFound) return false
      const expected = filter.value
      if (typeof expected === 'string') return matchString(v, (s) => s === expected)
      if (typeof expected === 'boolean') return matchBoolean(v, (b) => b === expected)
      return matchInteger(v, (n) => n === expected)
    }
    case 'lt':
    case 'gt':
    case 'lte':
    case 'gte': {
      const v = read(filter.key)
      if (v === notFound) return false
      const bound = filter.value
      switch (filter.op) {
        case 'lt': return matchInteger(v, (n) => n < bound)
        case 'gt': return matchInteger(v, (n) => n > bound)
        case 'lte': return matchInteger(v, (n) => n <= bound)
        default: return matchInteger(v, (n) => n >= bound)
      }
    }
    case 'regex': {
      const v = read(filter.key)
      if (v === notFound) return false
      const re = cachedRegex(filter.pattern)
      return matchString(v, (s) => re.test(s))
    }
    case 'ipv4range': {
      const v = read(filter.key)
      const range = parseIPv4Cidr(filter.cidr)
      if (v === notFound || range === undefined) return false
      return matchString(v, (s) => ipv4InRange(s, range))
    }
  }
}

/** Integer value of a field (Skydive's GetFieldInt64), or undefined if absent or not a number. */
export function readInteger (read: FieldReader, key: string): number | undefined {
  const v = read(key)
  return v === notFound ? undefined : toInteger(v)
}
