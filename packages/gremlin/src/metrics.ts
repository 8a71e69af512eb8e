import { evalError } from './errors.ts'
import { isRecord } from './fields.ts'

/**
 * A metric window: counters (flow `ABBytes`…, interface `RxBytes`…) plus `Start`/`Last` (ms).
 * Counters are every numeric field except `Start`, `Last` and `RTT` (a latency, not a counter).
 */
export type Metric = Record<string, unknown> & { Start?: unknown, Last?: unknown }

/** Skydive's limit on `Aggregates()` slices. */
export const maxAggregateSlices = 10_000
export const defaultAggregateSliceMs = 30_000

const notCounters = new Set(['Start', 'Last', 'RTT'])

export function isMetric (v: unknown): v is Metric {
  return isRecord(v) && typeof v.Start === 'number' && typeof v.Last === 'number'
}

export function metricStart (m: Metric): number {
  return typeof m.Start === 'number' ? m.Start : 0
}

export function metricLast (m: Metric): number {
  return typeof m.Last === 'number' ? m.Last : 0
}

function counterKeys (m: Metric): string[] {
  return Object.keys(m).filter((k) => !notCounters.has(k) && typeof m[k] === 'number')
}

function build (template: Metric, counters: Map<string, number>, start: number, last: number): Metric {
  const out: Metric = {}
  for (const k of Object.keys(template)) {
    if (k === 'Start') out.Start = start
    else if (k === 'Last') out.Last = last
    else if (counters.has(k)) out[k] = counters.get(k)
  }
  for (const [k, v] of counters) if (!(k in out)) out[k] = v
  if (!('Start' in out)) out.Start = start
  if (!('Last' in out)) out.Last = last
  return out
}

/** Counters summed; Start/Last of `a`. */
export function addMetrics (a: Metric, b: Metric): Metric {
  const counters = new Map<string, number>()
  for (const k of counterKeys(a)) counters.set(k, a[k] as number)
  for (const k of counterKeys(b)) counters.set(k, (counters.get(k) ?? 0) + (b[k] as number))
  return build(a, counters, metricStart(a), metricLast(a))
}

/** Splits a window at `cut`, sharing counters in proportion to time (Skydive's `Split`). */
export function splitMetric (m: Metric, cut: number): [Metric | undefined, Metric | undefined] {
  const start = metricStart(m)
  const last = metricLast(m)
  if (cut <= start) return [undefined, m]
  if (cut >= last || start === last) return [m, undefined]
  const ratio = (cut - start) / (last - start)
  const first = new Map<string, number>()
  const second = new Map<string, number>()
  for (const k of counterKeys(m)) {
    const v = m[k] as number
    const part = Math.trunc(v * ratio)
    first.set(k, part)
    second.set(k, v - part)
  }
  return [build(m, first, start, cut), build(m, second, cut, last)]
}

/** `Metrics().Sum()`: every window added up, from the earliest Start to the latest Last. */
export function sumMetrics (metrics: Iterable<Metric>): Metric | null {
  let total: Metric | undefined
  for (const m of metrics) {
    if (total === undefined) {
      total = addMetrics(m, {})
      continue
    }
    const start = Math.min(metricStart(total), metricStart(m))
    const last = Math.max(metricLast(total), metricLast(m))
    total = addMetrics(total, m)
    total.Start = start
    total.Last = last
  }
  return total ?? null
}

/**
 * `Metrics().Aggregates(s)`: every window of every element summed into consecutive slices of
 * `sliceMs` over `[start, last]`, windows spread over the slices they overlap in proportion to
 * time. Returns the non-empty slices.
 */
export function aggregateMetrics (all: Iterable<Metric>, start: number, last: number, sliceMs: number): Metric[] {
  const steps = Math.max(1, Math.ceil((last - start) / sliceMs))
  if (steps > maxAggregateSlices) {
    throw evalError(`Aggregates available slices exceeded: ${steps}/${maxAggregateSlices}`)
  }
  const slices: Array<Metric | undefined> = new Array(steps)
  const addTo = (j: number, piece: Metric): void => {
    const sliceStart = start + j * sliceMs
    const sliceLast = Math.min(sliceStart + sliceMs, Math.max(last, sliceStart + 1))
    const current = slices[j]
    slices[j] = current === undefined ? { ...addMetrics(piece, {}), Start: sliceStart, Last: sliceLast } : addMetrics(current, piece)
  }
  for (const m of all) {
    let rest: Metric | undefined = m
    // drop what lies before the first slice
    rest = splitMetric(rest, start)[1]
    if (rest === undefined) continue
    let j = Math.max(0, Math.floor((metricStart(rest) - start) / sliceMs))
    while (rest !== undefined && j < steps) {
      const sliceEnd = start + (j + 1) * sliceMs
      if (metricStart(rest) === metricLast(rest)) {
        if (metricStart(rest) <= last) addTo(j, rest)
        break
      }
      const [piece, after]: [Metric | undefined, Metric | undefined] = splitMetric(rest, Math.min(sliceEnd, last))
      if (piece !== undefined) addTo(j, piece)
      if (sliceEnd >= last) break
      rest = after
      j++
    }
  }
  return slices.filter((s): s is Metric => s !== undefined)
}
