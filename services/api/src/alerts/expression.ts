import { TopoflowError } from '@topoflow/core'

/**
 * Skydive alerts take either a Gremlin query or a JavaScript expression such as
 * `Gremlin("G.Flows().Metrics().Sum()").ABBytes > 1*1024`. We do not embed a JavaScript engine:
 * this module evaluates the subset those expressions use — `Gremlin("…")` calls, member access,
 * numbers, strings, true/false/null, + - * / %, comparisons, ! && || and parentheses.
 */
type Expr =
  | { k: 'lit', v: unknown }
  | { k: 'gremlin', q: string }
  | { k: 'member', obj: Expr, key: Expr }
  | { k: 'unary', op: '!' | '-', e: Expr }
  | { k: 'binary', op: string, a: Expr, b: Expr }

interface Tok { t: 'num' | 'str' | 'id' | 'op' | 'eof', v: string, at: number }

function invalid (source: string, at: number, message: string): TopoflowError {
  return new TopoflowError('TOPOFLOW_ERR_INVALID_REQUEST', `alert expression, column ${at + 1}: ${message} in ${JSON.stringify(source)}`)
}

const ops = ['===', '!==', '==', '!=', '<=', '>=', '&&', '||', '<', '>', '+', '-', '*', '/', '%', '!', '(', ')', '.', '[', ']']

function tokenize (src: string): Tok[] {
  const out: Tok[] = []
  let i = 0
  while (i < src.length) {
    const c = src[i] as string
    if (/\s/.test(c)) { i++; continue }
    if (/[0-9]/.test(c)) {
      const m = /^\d+(\.\d+)?([eE][+-]?\d+)?/.exec(src.slice(i)) as RegExpExecArray
      out.push({ t: 'num', v: m[0], at: i }); i += m[0].length; continue
    }
    if (c === '"' || c === "'") {
      const end = src.indexOf(c, i + 1)
      if (end < 0) throw invalid(src, i, 'unterminated string')
      out.push({ t: 'str', v: src.slice(i + 1, end), at: i }); i = end + 1; continue
    }
    if (/[A-Za-z_$]/.test(c)) {
      const m = /^[A-Za-z_$][\w$]*/.exec(src.slice(i)) as RegExpExecArray
      out.push({ t: 'id', v: m[0], at: i }); i += m[0].length; continue
    }
    const op = ops.find((o) => src.startsWith(o, i))
    if (op === undefined) throw invalid(src, i, `unexpected character ${JSON.stringify(c)}`)
    out.push({ t: 'op', v: op, at: i }); i += op.length
  }
  out.push({ t: 'eof', v: '', at: src.length })
  return out
}

const precedence: Record<string, number> = { '||': 1, '&&': 2, '==': 3, '!=': 3, '===': 3, '!==': 3, '<': 4, '>': 4, '<=': 4, '>=': 4, '+': 5, '-': 5, '*': 6, '/': 6, '%': 6 }

export function parseExpression (src: string): Expr {
  const toks = tokenize(src)
  let p = 0
  const peek = (): Tok => toks[p] as Tok
  const next = (): Tok => toks[p++] as Tok
  const expect = (v: string): void => {
    const t = next()
    if (t.v !== v || (t.t !== 'op')) throw invalid(src, t.at, `expected "${v}", found ${t.t === 'eof' ? 'the end' : JSON.stringify(t.v)}`)
  }
  const primary = (): Expr => {
    const t = next()
    let e: Expr
    if (t.t === 'num') e = { k: 'lit', v: Number(t.v) }
    else if (t.t === 'str') e = { k: 'lit', v: t.v }
    else if (t.t === 'op' && t.v === '(') { e = binary(0); expect(')') } else if (t.t === 'op' && (t.v === '!' || t.v === '-')) return { k: 'unary', op: t.v, e: primary() }
    else if (t.t === 'id') {
      if (t.v === 'true' || t.v === 'false') e = { k: 'lit', v: t.v === 'true' }
      else if (t.v === 'null') e = { k: 'lit', v: null }
      else if (t.v === 'Gremlin') {
        expect('(')
        const q = next()
        if (q.t !== 'str') throw invalid(src, q.at, 'Gremlin() takes one string')
        expect(')')
        e = { k: 'gremlin', q: q.v }
      } else throw invalid(src, t.at, `unknown name "${t.v}" (only Gremlin("…") is available)`)
    } else throw invalid(src, t.at, `unexpected ${t.t === 'eof' ? 'end' : JSON.stringify(t.v)}`)
    for (;;) {
      const n = peek()
      if (n.t === 'op' && n.v === '.') {
        next()
        const id = next()
        if (id.t !== 'id') throw invalid(src, id.at, 'expected a field name after "."')
        e = { k: 'member', obj: e, key: { k: 'lit', v: id.v } }
      } else if (n.t === 'op' && n.v === '[') {
        next()
        const key = binary(0)
        expect(']')
        e = { k: 'member', obj: e, key }
      } else return e
    }
  }
  const binary = (min: number): Expr => {
    let left = primary()
    for (;;) {
      const t = peek()
      const prec = t.t === 'op' ? precedence[t.v] : undefined
      if (prec === undefined || prec <= min) return left
      next()
      left = { k: 'binary', op: t.v, a: left, b: binary(prec) }
    }
  }
  const e = binary(0)
  const end = peek()
  if (end.t !== 'eof') throw invalid(src, end.at, `unexpected ${JSON.stringify(end.v)}`)
  return e
}

export async function evaluateExpression (e: Expr, gremlin: (q: string) => Promise<unknown>): Promise<unknown> {
  switch (e.k) {
    case 'lit': return e.v
    case 'gremlin': return await gremlin(e.q)
    case 'member': {
      const obj = await evaluateExpression(e.obj, gremlin)
      const key = await evaluateExpression(e.key, gremlin)
      if (obj === null || obj === undefined) return undefined
      if (Array.isArray(obj) && key === 'length') return obj.length
      return (obj as Record<string, unknown>)[String(key)]
    }
    case 'unary': {
      const v = await evaluateExpression(e.e, gremlin)
      return e.op === '!' ? !truthy(v) : -Number(v)
    }
    case 'binary': {
      if (e.op === '&&') { const a = await evaluateExpression(e.a, gremlin); return truthy(a) ? await evaluateExpression(e.b, gremlin) : a }
      if (e.op === '||') { const a = await evaluateExpression(e.a, gremlin); return truthy(a) ? a : await evaluateExpression(e.b, gremlin) }
      const a = await evaluateExpression(e.a, gremlin) as number
      const b = await evaluateExpression(e.b, gremlin) as number
      switch (e.op) {
        case '+': return a + b
        case '-': return a - b
        case '*': return a * b
        case '/': return a / b
        case '%': return a % b
        case '<': return a < b
        case '>': return a > b
        case '<=': return a <= b
        case '>=': return a >= b
        // eslint-disable-next-line eqeqeq
        case '==': return a == b
        // eslint-disable-next-line eqeqeq
        case '!=': return a != b
        case '===': return a === b
        case '!==': return a !== b
      }
      return undefined
    }
  }
}

/** An alert fires when its result is "something": a non-empty list or object, a non-zero number, true. */
export function truthy (v: unknown): boolean {
  if (Array.isArray(v)) return v.length > 0
  if (typeof v === 'object' && v !== null) return Object.keys(v).length > 0
  return Boolean(v)
}

/** Plain Gremlin queries start with G (case-insensitive); anything else is an expression. */
export function isGremlinExpression (expression: string): boolean {
  return /^\s*g(\s*\.|\s*$)/i.test(expression)
}
