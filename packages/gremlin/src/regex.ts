/**
 * Skydive's `REGEX(...)` predicate: always anchored, `^`/`$` refused. Skydive runs Go's linear-time
 * RE2; JavaScript backtracks, so patterns that can blow up (a quantified group that itself contains
 * a quantifier, back-references) are refused and the length is capped.
 */

export const maxRegexLength = 512

/** Finds constructs that make a backtracking engine exponential; returns why, or undefined. */
function unsafeReason (pattern: string): string | undefined {
  // for every open group: does it contain a quantifier?
  const groups: boolean[] = []
  let lastGroupHadQuantifier = false
  let inClass = false
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]
    if (c === '\\') {
      const next = pattern[i + 1] ?? ''
      if (!inClass && /[1-9k]/.test(next)) return 'back-references are not supported'
      i++
      lastGroupHadQuantifier = false
      continue
    }
    if (inClass) {
      if (c === ']') inClass = false
      continue
    }
    if (c === '[') {
      inClass = true
      lastGroupHadQuantifier = false
      continue
    }
    if (c === '(') {
      groups.push(false)
      continue
    }
    if (c === ')') {
      lastGroupHadQuantifier = groups.pop() ?? false
      if (lastGroupHadQuantifier && groups.length > 0) groups[groups.length - 1] = true
      const next = pattern[i + 1]
      const unbounded = next === '*' || next === '+' || (next === '{' && /^\{\d*,\d*\}/.test(pattern.slice(i + 1)))
      if (lastGroupHadQuantifier && unbounded) return 'nested quantifiers (like (a+)+) are not supported'
      continue
    }
    if (c === '*' || c === '+' || c === '?' || c === '{') {
      if (groups.length > 0 && (c !== '?' || pattern[i - 1] !== '(')) groups[groups.length - 1] = true
    }
    lastGroupHadQuantifier = false
  }
  return undefined
}

/**
 * Compiles a REGEX predicate the way Skydive does (`^pattern$`), grouping the pattern so that
 * `a|b` means "exactly a or exactly b". A leading `(?i)` (RE2 syntax) becomes the `i` flag.
 * Throws an Error whose message explains what is wrong.
 */
export function compileAnchoredRegex (pattern: string): RegExp {
  if (pattern.startsWith('^') || pattern.endsWith('$')) {
    throw new Error('Regex are anchored by default, ^ and $ don\'t have to be provided')
  }
  if (pattern.length > maxRegexLength) throw new Error(`regex is longer than ${maxRegexLength} characters`)
  let flags = ''
  let body = pattern
  if (body.startsWith('(?i)')) {
    flags = 'i'
    body = body.slice(4)
  }
  const unsafe = unsafeReason(body)
  if (unsafe !== undefined) throw new Error(`regex refused: ${unsafe}`)
  try {
    return new RegExp(`^(?:${body})$`, flags)
  } catch (err) {
    throw new Error(`invalid regex '${pattern}': ${(err as Error).message}`)
  }
}
