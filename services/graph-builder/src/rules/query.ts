import { TopoflowError } from '@topoflow/core'
import type { GraphNode } from '../types.ts'
import { getField } from '../graph/metadata.ts'

/** Decides whether a node is selected by a rule's Gremlin query. */
export type NodePredicate = (node: GraphNode) => boolean
export type QueryCompiler = (query: string) => NodePredicate

type Step = { name: string, args: Array<string | number> }

/**
 * A node selector for the Gremlin queries rules use in practice: `G.V()`, `G.V('<id>')` and any chain of
 * `Has('Key', value, ...)` and `HasKey('Key')` (keys may be dotted, `K8s.Namespace`). Step names are
 * case-insensitive and strings take single or double quotes, as in Skydive's dialect. Anything else is
 * rejected with TOPOFLOW_ERR_GREMLIN_SYNTAX rather than guessed at.
 */
export const compileSimpleQuery: QueryCompiler = (query) => {
  const steps = parseSteps(query)
  const [g, v, ...rest] = steps
  if (g?.name !== 'g' || v?.name !== 'v') throw syntax(query, 'a rule query must start with G.V()')
  const tests: NodePredicate[] = []
  if (v.args.length > 0) {
    const ids = new Set(v.args.map(String))
    tests.push((n) => ids.has(n.ID))
  }
  for (const step of rest) {
    if (step.name === 'has') {
      if (step.args.length === 0 || step.args.length % 2 !== 0) {
        if (step.args.length === 1) { const key = String(step.args[0]); tests.push((n) => fieldOf(n, key) !== undefined); continue }
        throw syntax(query, 'Has() takes a key, or key/value pairs')
      }
      for (let i = 0; i < step.args.length; i += 2) {
        const key = String(step.args[i])
        const want = step.args[i + 1] as string | number
        tests.push((n) => equalsValue(fieldOf(n, key), want))
      }
    } else if (step.name === 'haskey') {
      if (step.args.length !== 1) throw syntax(query, 'HasKey() takes one key')
      const key = String(step.args[0])
      tests.push((n) => fieldOf(n, key) !== undefined)
    } else {
      throw syntax(query, `step ${step.name}() is not supported in rule queries (only V, Has, HasKey)`)
    }
  }
  return (node) => tests.every((t) => t(node))
}

function fieldOf (node: GraphNode, key: string): unknown {
  if (key.startsWith('@')) return (node as unknown as Record<string, unknown>)[key.slice(1)]
  return getField(node.Metadata, key)
}

function equalsValue (have: unknown, want: string | number): boolean {
  if (Array.isArray(have)) return have.some((h) => equalsValue(h, want))
  if (typeof want === 'number') return typeof have === 'number' ? have === want : have === String(want)
  return typeof have === 'string' ? have === want : (typeof have === 'number' || typeof have === 'boolean') && String(have) === want
}

function syntax (query: string, reason: string): TopoflowError {
  return new TopoflowError('TOPOFLOW_ERR_GREMLIN_SYNTAX', `Rule query "${query}": ${reason}`, { context: { stage: 'rules' } })
}

function parseSteps (query: string): Step[] {
  const steps: Step[] = []
  let i = 0
  const s = query.trim()
  const skip = (): void => { while (i < s.length && /\s/.test(s[i] as string)) i++ }
  while (i < s.length) {
    skip()
    const m = /^[A-Za-z_][A-Za-z0-9_]*/.exec(s.slice(i))
    if (m === null) throw syntax(query, `unexpected "${s.slice(i, i + 10)}" at ${i}`)
    const name = m[0].toLowerCase()
    i += m[0].length
    skip()
    const args: Array<string | number> = []
    if (s[i] === '(') {
      i++
      skip()
      while (s[i] !== ')') {
        if (i >= s.length) throw syntax(query, 'missing ")"')
        const c = s[i] as string
        if (c === '"' || c === "'") {
          const end = s.indexOf(c, i + 1)
          if (end < 0) throw syntax(query, 'unterminated string')
          args.push(s.slice(i + 1, end))
          i = end + 1
        } else {
          const num = /^[0-9]+(\.[0-9]+)?/.exec(s.slice(i))
          if (num === null) throw syntax(query, `unsupported argument at ${i} (only strings and numbers)`)
          args.push(Number(num[0]))
          i += num[0].length
        }
        skip()
        if (s[i] === ',') { i++; skip() } else if (s[i] !== ')') throw syntax(query, `expected "," or ")" at ${i}`)
      }
      i++
    } else if (name !== 'g') {
      throw syntax(query, `step ${m[0]} needs parentheses`)
    }
    steps.push({ name, args })
    skip()
    if (i < s.length) {
      if (s[i] !== '.') throw syntax(query, `expected "." at ${i}`)
      i++
    }
  }
  return steps
}
