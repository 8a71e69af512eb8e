import type { TimeSpec } from './time.ts'

/** A literal argument: string, number (Skydive's int64 or float64) or boolean. */
export type Literal = string | number | boolean

export type ComparisonName = 'LT' | 'GT' | 'LTE' | 'GTE'
export type RangeName = 'INSIDE' | 'OUTSIDE' | 'BETWEEN'

/** A predicate argument, e.g. `NE('x')`, `GT(5)`, `WITHIN(1, 2)`, `REGEX('eth.*')`, `IPV4RANGE('10.0.0.0/8')`. */
export type Predicate =
  | { kind: 'predicate', name: 'NE' | 'NEE', value: Literal }
  | { kind: 'predicate', name: ComparisonName, value: number }
  | { kind: 'predicate', name: RangeName, from: number, to: number }
  | { kind: 'predicate', name: 'WITHIN' | 'WITHOUT', values: Literal[] }
  | { kind: 'predicate', name: 'REGEX', pattern: string, regex: RegExp }
  | { kind: 'predicate', name: 'IPV4RANGE', cidr: string }

/** What a `Has`-like filter can compare a key with. */
export type MatchValue = Literal | Predicate

/** `Metadata('k1', v1, ...)`: a map used by `ShortestPathTo`. */
export interface MetadataParam {
  kind: 'metadata'
  pairs: Array<[string, MatchValue]>
}

export interface KeywordParam {
  kind: 'keyword'
  word: 'ASC' | 'DESC' | 'NOW' | 'FOREVER'
}

export type Param = Literal | Predicate | MetadataParam | KeywordParam

export const stepNames = [
  'V', 'E', 'Has', 'HasKey', 'HasNot', 'HasEither', 'Out', 'In', 'Both', 'OutV', 'InV', 'BothV',
  'OutE', 'InE', 'BothE', 'Dedup', 'Count', 'Range', 'Limit', 'Sort', 'Values', 'ValueMap', 'Keys',
  'Sum', 'As', 'Select', 'ShortestPathTo', 'SubGraph', 'Flows', 'Hops', 'CaptureNode', 'Nodes',
  'Metrics', 'Aggregates', 'Sockets', 'Group', 'MoreThan', 'Descendants', 'Ascendants', 'Neighbors',
  'NextHop', 'RawPackets', 'BPF', 'Workflow'
] as const

export type StepName = (typeof stepNames)[number]

/** One `.Step(params)` of a query, with source offsets for error messages. */
export interface Step {
  name: StepName
  params: Param[]
  /** Offset of each param in the query, same order as `params`. */
  paramOffsets: number[]
  start: number
  end: number
}

/** A parsed query: `G`, an optional time context (`At`/`Context`), then steps. */
export interface Query {
  source: string
  time?: TimeSpec
  steps: Step[]
}

export function isPredicate (p: unknown): p is Predicate {
  return typeof p === 'object' && p !== null && (p as { kind?: unknown }).kind === 'predicate'
}

export function isLiteral (p: unknown): p is Literal {
  return typeof p === 'string' || typeof p === 'number' || typeof p === 'boolean'
}
