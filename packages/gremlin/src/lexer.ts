import { syntaxError } from './errors.ts'

export type TokenKind = 'ident' | 'string' | 'number' | 'dot' | 'comma' | 'lparen' | 'rparen' | 'eof'

/**
 * One lexical token. `text` is the source text (for strings: the content without quotes); `upper`
 * is the upper-cased identifier, because Skydive's keywords and step names are case-insensitive.
 */
export interface Token {
  kind: TokenKind
  text: string
  upper: string
  start: number
  end: number
}

/** Longest query we accept; a bound so that a client cannot make us scan megabytes. */
export const maxQueryLength = 64 * 1024

const punctuation: Record<string, TokenKind> = { '.': 'dot', ',': 'comma', '(': 'lparen', ')': 'rparen' }

function isLetter (c: string): boolean {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
}

function isDigit (c: string): boolean {
  return c >= '0' && c <= '9'
}

function isSpace (c: string): boolean {
  return c === ' ' || c === '\t' || c === '\n' || c === '\r'
}

export function describeToken (t: Token): string {
  switch (t.kind) {
    case 'eof': return 'end of query'
    case 'string': return `string '${t.text}'`
    case 'number': return `number ${t.text}`
    default: return `'${t.text}'`
  }
}

/**
 * Splits a query into tokens, following Skydive's scanner: identifiers are letters then letters,
 * digits or `_`; strings use single or double quotes and have no escapes; numbers are digits with
 * optional dots and no sign. Unlike Skydive, a string ends only at the quote that opened it, so
 * `"O'Brien"` works.
 */
export function tokenize (query: string): Token[] {
  if (query.length > maxQueryLength) {
    throw syntaxError(query, maxQueryLength, `query is longer than ${maxQueryLength} characters`)
  }
  const tokens: Token[] = []
  let i = 0
  while (i < query.length) {
    const c = query[i] as string
    if (isSpace(c)) {
      i++
      continue
    }
    const start = i
    const punct = punctuation[c]
    if (punct !== undefined) {
      tokens.push({ kind: punct, text: c, upper: c, start, end: i + 1 })
      i++
    } else if (isLetter(c)) {
      while (i < query.length && (isLetter(query[i] as string) || isDigit(query[i] as string) || query[i] === '_')) i++
      const text = query.slice(start, i)
      tokens.push({ kind: 'ident', text, upper: text.toUpperCase(), start, end: i })
    } else if (isDigit(c)) {
      while (i < query.length && (isDigit(query[i] as string) || query[i] === '.')) i++
      if (i < query.length && (isLetter(query[i] as string) || query[i] === '_')) {
        throw syntaxError(query, i, 'a number cannot be followed by a letter (durations are strings, e.g. \'5m\')', { found: `'${query.slice(start, i + 1)}'` })
      }
      const text = query.slice(start, i)
      if (!/^\d+(\.\d+)?$/.test(text)) {
        throw syntaxError(query, start, 'malformed number', { expected: 'digits with at most one decimal point', found: `'${text}'` })
      }
      tokens.push({ kind: 'number', text, upper: text, start, end: i })
    } else if (c === '\'' || c === '"') {
      const close = query.indexOf(c, i + 1)
      if (close === -1) throw syntaxError(query, start, 'unterminated string', { expected: `a closing ${c}` })
      const text = query.slice(i + 1, close)
      tokens.push({ kind: 'string', text, upper: text, start, end: close + 1 })
      i = close + 1
    } else if (c === '-' || c === '+') {
      throw syntaxError(query, i, 'signed numbers are not supported (write durations as strings, e.g. \'-1m\')', { found: `'${c}'` })
    } else {
      throw syntaxError(query, i, 'unexpected character', { found: JSON.stringify(c) })
    }
  }
  tokens.push({ kind: 'eof', text: '', upper: '', start: query.length, end: query.length })
  return tokens
}
