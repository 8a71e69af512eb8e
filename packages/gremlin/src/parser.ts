import { isIP } from 'node:net'
import { TopoflowError } from '@topoflow/core'
import { isLiteral, isPredicate, stepNames } from './ast.ts'
import type { KeywordParam, Literal, MatchValue, MetadataParam, Param, Predicate, Query, Step, StepName } from './ast.ts'
import { syntaxError } from './errors.ts'
import { parseIPv4Cidr } from './ip.ts'
import { describeToken, tokenize } from './lexer.ts'
import type { Token } from './lexer.ts'
import { compileAnchoredRegex } from './regex.ts'
import { epochToMs, parseGoDuration, parseTimePointString } from './time.ts'
import type { TimePoint, TimeSpec, TimeWindow } from './time.ts'

const stepByUpper = new Map<string, StepName>(stepNames.map((n) => [n.toUpperCase(), n]))
// Skydive's aliases
stepByUpper.set('NODE', 'CaptureNode')

const contextWords = new Set(['CONTEXT', 'AT'])
const keywords = new Set(['ASC', 'DESC', 'NOW', 'FOREVER'])
const predicateNames = new Set(['NE', 'NEE', 'LT', 'GT', 'LTE', 'GTE', 'INSIDE', 'OUTSIDE', 'BETWEEN', 'WITHIN', 'WITHOUT', 'REGEX', 'IPV4RANGE'])

/** Accepted keys of `Metrics(key)`, normalized as Skydive does. */
export const metricsKeys: Record<string, string> = {
  LastUpdateMetric: 'LastUpdateMetric',
  SFlow: 'SFlow.LastUpdateMetric',
  'SFlow.LastUpdateMetric': 'SFlow.LastUpdateMetric',
  Ovs: 'Ovs.LastUpdateMetric',
  'Ovs.LastUpdateMetric': 'Ovs.LastUpdateMetric'
}

interface Located<T> {
  value: T
  start: number
}

function describeParam (p: Param): string {
  if (typeof p === 'string') return `string '${p}'`
  if (typeof p === 'number' || typeof p === 'boolean') return String(p)
  if (p.kind === 'keyword') return p.word
  if (p.kind === 'metadata') return 'Metadata(...)'
  return `${p.name}(...)`
}

class Parser {
  private readonly tokens: Token[]
  private index = 0
  readonly source: string

  constructor (source: string) {
    this.source = source
    this.tokens = tokenize(source)
  }

  private peek (): Token {
    return this.tokens[this.index] as Token
  }

  private next (): Token {
    const t = this.tokens[this.index] as Token
    if (t.kind !== 'eof') this.index++
    return t
  }

  fail (offset: number, message: string, details: { expected?: string, found?: string } = {}): TopoflowError {
    return syntaxError(this.source, offset, message, details)
  }

  private expect (kind: Token['kind'], expected: string, context: string): Token {
    const t = this.next()
    if (t.kind !== kind) throw this.fail(t.start, context, { expected, found: describeToken(t) })
    return t
  }

  parseQuery (): Query {
    const first = this.next()
    if (first.kind !== 'ident' || first.upper !== 'G') {
      throw this.fail(first.start, 'a query starts with G', { expected: '`G`', found: describeToken(first) })
    }
    const query: Query = { source: this.source, steps: [] }
    while (this.peek().kind !== 'eof') {
      this.expect('dot', '`.`', 'steps are separated by dots')
      const name = this.expect('ident', 'a step name', 'missing step name')
      const args = this.parseArgs(name)
      if (contextWords.has(name.upper)) {
        if (query.steps.length > 0) {
          throw this.fail(name.start, `${name.text}() must come right after G`, { expected: 'G.At(...) or G.Context(...) before any other step' })
        }
        query.time = this.timeSpec(name, args)
        continue
      }
      const stepName = stepByUpper.get(name.upper)
      if (stepName === undefined) {
        throw this.fail(name.start, `Expected step function, got: ${name.text}`)
      }
      const step: Step = {
        name: stepName,
        params: args.map((a) => a.value),
        paramOffsets: args.map((a) => a.start),
        start: name.start,
        end: this.tokens[this.index - 1]?.end ?? name.end
      }
      this.validateStep(step)
      query.steps.push(step)
    }
    return query
  }

  /** `( value, value, ... )` after a step or predicate name. */
  private parseArgs (owner: Token): Array<Located<Param>> {
    this.expect('lparen', '`(`', `'${owner.text}' must be followed by parentheses`)
    const args: Array<Located<Param>> = []
    if (this.peek().kind === 'rparen') {
      this.next()
      return args
    }
    for (;;) {
      args.push(this.parseValue())
      const t = this.next()
      if (t.kind === 'rparen') return args
      if (t.kind !== 'comma') {
        throw this.fail(t.start, `unfinished arguments of '${owner.text}'`, { expected: '`,` or `)`', found: describeToken(t) })
      }
    }
  }

  private parseValue (): Located<Param> {
    const t = this.next()
    const start = t.start
    switch (t.kind) {
      case 'string': return { value: t.text, start }
      case 'number': return { value: Number(t.text), start }
      case 'ident': break
      default: throw this.fail(t.start, 'missing argument', { expected: 'a string, a number, a predicate or a keyword', found: describeToken(t) })
    }
    if (t.upper === 'TRUE') return { value: true, start }
    if (t.upper === 'FALSE') return { value: false, start }
    if (keywords.has(t.upper)) return { value: { kind: 'keyword', word: t.upper } as KeywordParam, start }
    if (t.upper === 'METADATA') return { value: this.metadata(t, this.parseArgs(t)), start }
    if (predicateNames.has(t.upper)) return { value: this.predicate(t, this.parseArgs(t)), start }
    throw this.fail(t.start, `unknown argument '${t.text}'`, { expected: 'a string, a number, TRUE/FALSE, ASC/DESC, NOW/FOREVER, Metadata(...) or a predicate (NE, NEE, LT, GT, LTE, GTE, INSIDE, OUTSIDE, BETWEEN, WITHIN, WITHOUT, REGEX, IPV4RANGE)' })
  }

  private literalArg (owner: Token, arg: Located<Param>): Literal {
    if (!isLiteral(arg.value)) throw this.fail(arg.start, `${owner.upper} takes a string, a number or a boolean`, { found: describeParam(arg.value) })
    return arg.value
  }

  /** Skydive casts comparison arguments to int64; numeric strings are accepted too. */
  private integerArg (owner: Token, arg: Located<Param>): number {
    const v = arg.value
    if (typeof v === 'number') return Math.trunc(v)
    if (typeof v === 'string' && /^\d+$/.test(v)) return Number(v)
    throw this.fail(arg.start, `${owner.upper} values should be of int64 type`, { found: describeParam(v) })
  }

  private arity (owner: Token, args: Array<Located<Param>>, n: number): void {
    if (args.length !== n) {
      throw this.fail(owner.start, `${owner.upper} takes ${n === 1 ? 'one parameter' : `${n} parameters`}`, { found: `${args.length}` })
    }
  }

  private predicate (owner: Token, args: Array<Located<Param>>): Predicate {
    const name = owner.upper
    switch (name) {
      case 'NE':
      case 'NEE':
        this.arity(owner, args, 1)
        return { kind: 'predicate', name, value: this.literalArg(owner, args[0] as Located<Param>) }
      case 'LT':
      case 'GT':
      case 'LTE':
      case 'GTE':
        this.arity(owner, args, 1)
        return { kind: 'predicate', name, value: this.integerArg(owner, args[0] as Located<Param>) }
      case 'INSIDE':
      case 'OUTSIDE':
      case 'BETWEEN':
        this.arity(owner, args, 2)
        return { kind: 'predicate', name, from: this.integerArg(owner, args[0] as Located<Param>), to: this.integerArg(owner, args[1] as Located<Param>) }
      case 'WITHIN':
      case 'WITHOUT':
        if (args.length === 0) throw this.fail(owner.start, `${name} takes at least one value`)
        return { kind: 'predicate', name, values: args.map((a) => this.literalArg(owner, a)) }
      case 'REGEX': {
        this.arity(owner, args, 1)
        const arg = args[0] as Located<Param>
        if (typeof arg.value !== 'string') throw this.fail(arg.start, 'REGEX predicate expects a string as parameter', { found: describeParam(arg.value) })
        try {
          return { kind: 'predicate', name, pattern: arg.value, regex: compileAnchoredRegex(arg.value) }
        } catch (err) {
          throw this.fail(arg.start, (err as Error).message)
        }
      }
      case 'IPV4RANGE': {
        this.arity(owner, args, 1)
        const arg = args[0] as Located<Param>
        if (typeof arg.value !== 'string') throw this.fail(arg.start, 'Ipv4Range value has to be a string', { found: describeParam(arg.value) })
        if (parseIPv4Cidr(arg.value) === undefined) throw this.fail(arg.start, `invalid CIDR address: ${arg.value}`, { expected: 'an IPv4 range like 10.0.0.0/8' })
        return { kind: 'predicate', name, cidr: arg.value }
      }
    }
    throw this.fail(owner.start, `unknown predicate ${owner.text}`)
  }

  private metadata (owner: Token, args: Array<Located<Param>>): MetadataParam {
    if (args.length % 2 !== 0) throw this.fail(owner.start, 'Metadata must be defined by pairs of key, value', { found: `${args.length} parameters` })
    const pairs: Array<[string, MatchValue]> = []
    for (let i = 0; i < args.length; i += 2) {
      const k = args[i] as Located<Param>
      const v = args[i + 1] as Located<Param>
      if (typeof k.value !== 'string') throw this.fail(k.start, 'Metadata keys should be of string type', { found: describeParam(k.value) })
      if (!isLiteral(v.value) && !isPredicate(v.value)) throw this.fail(v.start, 'Metadata values are strings, numbers, booleans or predicates', { found: describeParam(v.value) })
      pairs.push([k.value, v.value])
    }
    return { kind: 'metadata', pairs }
  }

  private timeSpec (owner: Token, args: Array<Located<Param>>): TimeSpec {
    if (args.length === 0) throw this.fail(owner.start, `At least one parameter must be provided to '${owner.text}'`)
    if (args.length > 2) throw this.fail(owner.start, `At most two parameters must be provided to '${owner.text}'`)
    const first = args[0] as Located<Param>
    let at: TimePoint | undefined
    if (typeof first.value === 'string') {
      at = parseTimePointString(first.value)
      if (at === undefined) {
        throw this.fail(first.start, 'Time must be in RFC1123 or in Go Duration format', { expected: '\'-1m\', \'Mon, 02 Jan 2006 15:04:05 MST\', an RFC3339 date, \'now\', an epoch integer or NOW', found: describeParam(first.value) })
      }
    } else if (typeof first.value === 'number' && Number.isInteger(first.value)) {
      at = { kind: 'absolute', ms: epochToMs(first.value) }
    } else if (typeof first.value === 'object' && first.value.kind === 'keyword' && first.value.word === 'NOW') {
      at = { kind: 'now' }
    } else {
      throw this.fail(first.start, `Key '${owner.text}' must be either an integer or a string`, { found: describeParam(first.value) })
    }
    if (args.length === 1) return { at }
    const second = args[1] as Located<Param>
    let window: TimeWindow
    if (typeof second.value === 'string') {
      const ms = parseGoDuration(second.value)
      if (ms === undefined) throw this.fail(second.start, 'the duration must be a Go duration', { expected: 'e.g. \'5m\', \'1h30m\', an integer number of seconds or FOREVER', found: describeParam(second.value) })
      if (ms < 0) throw this.fail(second.start, 'the duration cannot be negative', { found: describeParam(second.value) })
      window = { kind: 'duration', ms }
    } else if (typeof second.value === 'number' && Number.isInteger(second.value)) {
      window = { kind: 'duration', ms: second.value * 1000 }
    } else if (typeof second.value === 'object' && second.value.kind === 'keyword' && second.value.word === 'FOREVER') {
      window = { kind: 'forever' }
    } else {
      throw this.fail(second.start, `Key '${owner.text}' must be either an integer or a string`, { found: describeParam(second.value) })
    }
    return { at, window }
  }

  private paramError (step: Step, i: number, message: string): TopoflowError {
    const p = step.params[i]
    return this.fail(step.paramOffsets[i] ?? step.start, message, p === undefined ? {} : { found: describeParam(p) })
  }

  private stepError (step: Step, message: string): TopoflowError {
    return this.fail(step.start, message, { found: `${step.params.length} parameter${step.params.length === 1 ? '' : 's'}` })
  }

  private requireStrings (step: Step, from = 0): void {
    for (let i = from; i < step.params.length; i++) {
      if (typeof step.params[i] !== 'string') throw this.paramError(step, i, `${step.name} parameters have to be string keys`)
    }
  }

  /** `('key')` or `('k1', v1, 'k2', v2, ...)`, values being literals or predicates. */
  private requireFilter (step: Step, params: Param[], allowEmpty: boolean, allowSingleKey = true): void {
    if (params.length === 0) {
      if (!allowEmpty) throw this.stepError(step, `${step.name} needs at least one parameter`)
      return
    }
    if (params.length === 1 && allowSingleKey) {
      if (typeof params[0] !== 'string') throw this.paramError(step, 0, `${step.name}: key must be a string`)
      return
    }
    if (params.length % 2 !== 0) throw this.stepError(step, `${step.name}: params should be a list of key,value`)
    for (let i = 0; i < params.length; i += 2) {
      if (typeof params[i] !== 'string') throw this.paramError(step, i, `${step.name}: keys should be of string type`)
      const v = params[i + 1]
      if (!isLiteral(v) && !isPredicate(v)) throw this.paramError(step, i + 1, `${step.name}: a value must be a string, a number, a boolean or a predicate`)
    }
  }

  private requireNonNegativeInt (step: Step, i: number): void {
    const v = step.params[i]
    if (typeof v !== 'number' || !Number.isInteger(v)) throw this.paramError(step, i, `${step.name}: ${String(v)} is not an integer`)
  }

  /** Argument checks that Skydive does while parsing (plus a few it only does at execution). */
  private validateStep (step: Step): void {
    const { params } = step
    const n = params.length
    switch (step.name) {
      case 'V':
      case 'E':
        if (n === 1 && typeof params[0] !== 'string') throw this.paramError(step, 0, `${step.name} parameter must be a string`)
        if (n > 1) this.requireFilter(step, params, false, false)
        return
      case 'Has':
      case 'HasEither':
        if (n === 0) throw this.stepError(step, 'At least one parameter must be provided')
        this.requireFilter(step, params, false)
        return
      case 'HasKey':
      case 'HasNot':
        if (n !== 1 || typeof params[0] !== 'string') throw this.stepError(step, `${step.name} accepts only one parameter of type string`)
        return
      case 'Out': case 'In': case 'Both': case 'OutV': case 'InV': case 'BothV': case 'OutE': case 'InE': case 'BothE':
      case 'SubGraph': case 'Hops': case 'CaptureNode': case 'Nodes':
        this.requireFilter(step, params, true)
        return
      case 'Flows':
        if (n === 0) return
        if (n < 2) throw this.stepError(step, 'Flows: at least two parameters must be provided (key, value pairs)')
        this.requireFilter(step, params, false, false)
        return
      case 'Dedup':
        this.requireStrings(step)
        return
      case 'Count': case 'Keys': case 'Sockets': case 'RawPackets':
        if (n !== 0) throw this.stepError(step, `${step.name} accepts no parameter`)
        return
      case 'Range':
        if (n !== 2) throw this.stepError(step, 'Range requires 2 parameters')
        this.requireNonNegativeInt(step, 0)
        this.requireNonNegativeInt(step, 1)
        return
      case 'Limit':
        if (n !== 1) throw this.stepError(step, 'Limit requires 1 parameter')
        this.requireNonNegativeInt(step, 0)
        return
      case 'Sort':
        if (n === 1 && typeof params[0] !== 'string') throw this.paramError(step, 0, 'Sort parameter has to be a string key')
        if (n === 2) {
          const order = params[0]
          if (typeof order !== 'object' || order.kind !== 'keyword' || (order.word !== 'ASC' && order.word !== 'DESC')) throw this.paramError(step, 0, 'Use ASC or DESC predicate')
          if (typeof params[1] !== 'string') throw this.paramError(step, 1, 'Second sort parameter has to be a string key')
        }
        if (n > 2) throw this.stepError(step, 'Sort accepts 1 predicate and 1 string parameter')
        return
      case 'Values':
      case 'As':
        if (n !== 1 || typeof params[0] !== 'string') throw this.stepError(step, `${step.name} requires 1 parameter, a string key`)
        return
      case 'ValueMap':
      case 'Select':
        if (n === 0) throw this.stepError(step, `${step.name} requires at least one key`)
        this.requireStrings(step)
        return
      case 'Sum':
        if (n > 1) throw this.stepError(step, 'Sum requires 1 parameter')
        this.requireStrings(step)
        return
      case 'ShortestPathTo':
        if (n === 0 || n > 2) throw this.stepError(step, 'ShortestPathTo predicate accepts only 1 or 2 parameters')
        params.forEach((p, i) => {
          if (typeof p !== 'object' || p.kind !== 'metadata') throw this.paramError(step, i, 'ShortestPathTo parameters have to be Metadata(...)')
        })
        return
      case 'Metrics':
        if (n > 1) throw this.stepError(step, 'Metrics accepts one parameter')
        if (n === 1 && (typeof params[0] !== 'string' || metricsKeys[params[0]] === undefined)) {
          throw this.paramError(step, 0, 'Metric field unknown (LastUpdateMetric, SFlow or Ovs)')
        }
        return
      case 'Aggregates':
        if (n > 1) throw this.stepError(step, 'Aggregates accepts one parameter')
        if (n === 1 && (typeof params[0] !== 'number' || !Number.isInteger(params[0]) || params[0] <= 0)) {
          throw this.paramError(step, 0, 'Aggregates parameter has to be a positive number')
        }
        return
      case 'Group':
        if (n > 1) throw this.stepError(step, 'Group requires 0 or 1 parameter')
        this.requireStrings(step)
        return
      case 'MoreThan':
        if (n > 1) throw this.stepError(step, 'MoreThan do require 0 or 1 parameter')
        if (n === 1) {
          const v = params[0]
          const ok = (typeof v === 'string' && /^\d+$/.test(v)) || (typeof v === 'number' && Number.isInteger(v))
          if (!ok) throw this.paramError(step, 0, 'MoreThan parameter must be a positive integer')
        }
        return
      case 'Descendants':
      case 'Ascendants':
      case 'Neighbors': {
        const pairs = params.length - (params.length % 2)
        if (pairs < params.length) {
          const depth = params[params.length - 1]
          if (typeof depth !== 'number' || !Number.isInteger(depth)) {
            throw this.paramError(step, params.length - 1, `${step.name} last argument must be the maximum depth specified as an integer`)
          }
        }
        this.requireFilter({ ...step, params: params.slice(0, pairs) }, params.slice(0, pairs), true, false)
        return
      }
      case 'NextHop':
        if (n !== 1 || typeof params[0] !== 'string') throw this.stepError(step, 'NextHop accepts one parameter, an IP address string')
        if (isIP(params[0]) === 0) throw this.paramError(step, 0, 'NextHop parameter have to be a valid IP address')
        return
      case 'BPF':
        if (n !== 1 || typeof params[0] !== 'string') throw this.stepError(step, 'BPF requires one filter string')
        return
      case 'Workflow':
        if (n === 0 || typeof params[0] !== 'string') throw this.stepError(step, 'Workflow requires a workflow ID or name')
    }
  }
}

/**
 * Parses a query of Skydive's Gremlin dialect. Throws a TopoflowError `TOPOFLOW_ERR_GREMLIN_SYNTAX`
 * whose message gives the column and what was expected; never throws anything else.
 */
export function parseGremlin (source: string): Query {
  if (typeof source !== 'string') {
    throw syntaxError('', 0, 'the query must be a string', { found: typeof source })
  }
  try {
    return new Parser(source).parseQuery()
  } catch (err) {
    if (TopoflowError.is(err)) throw err
    throw syntaxError(source, 0, `unparsable query: ${(err as Error)?.message ?? String(err)}`)
  }
}
