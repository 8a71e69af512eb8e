import type { Metadata } from './types.ts'

/**
 * Interface counters as Skydive publishes them: `Metric` holds the totals with `Start`/`Last`
 * (ms), `LastUpdateMetric` the difference since the previous refresh. Both change only when the agent
 * refreshes metrics, so that every rescan does not rewrite every interface node.
 */
export interface MetricState {
  counters: Record<string, number>
  start: number
  last: number
  Metric: Metadata
  LastUpdateMetric?: Metadata
}

export function firstMetric (counters: Record<string, number>, now: number): MetricState {
  return { counters, start: now, last: now, Metric: { ...counters, Start: now, Last: now } }
}

/**
 * Advances the totals to `counters` and records the delta since `prev.last`. Like Skydive, an
 * interface whose counters did not move keeps its previous state, so an idle host publishes nothing.
 */
export function refreshMetric (prev: MetricState, counters: Record<string, number>, now: number): MetricState {
  const delta: Metadata = {}
  for (const [name, value] of Object.entries(counters)) {
    const before = prev.counters[name] ?? 0
    // A counter that went down means the interface was recreated: count from zero again.
    const d = value >= before ? value - before : value
    if (d !== 0) delta[name] = d
  }
  if (Object.keys(delta).length === 0) return prev
  return {
    counters,
    start: prev.start,
    last: now,
    Metric: { ...counters, Start: prev.start, Last: now },
    LastUpdateMetric: { ...delta, Start: prev.last, Last: now }
  }
}
