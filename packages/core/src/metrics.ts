import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client'

export { Counter, Gauge, Histogram, Registry }

/** A registry with the process metrics and a `service` label on everything. */
export function createRegistry (service: string, opts: { processMetrics?: boolean } = {}): Registry {
  const registry = new Registry()
  registry.setDefaultLabels({ service })
  if (opts.processMetrics !== false) collectDefaultMetrics({ register: registry, prefix: 'topoflow_' })
  return registry
}

/**
 * The counters every pipeline stage reports (style rule 13), declared once. Stages label them with
 * `stage` and, for drops and errors, `reason`/`code`.
 */
export function stageMetrics (registry: Registry): {
  received: Counter<'stage'>
  sent: Counter<'stage'>
  dropped: Counter<'stage' | 'reason'>
  errors: Counter<'stage' | 'code'>
} {
  const make = <L extends string>(name: string, help: string, labelNames: L[]): Counter<L> => {
    const existing = registry.getSingleMetric(name)
    if (existing !== undefined) return existing as Counter<L>
    return new Counter({ name, help, labelNames, registers: [registry] })
  }
  return {
    received: make('topoflow_events_received_total', 'Events a stage took in', ['stage']),
    sent: make('topoflow_events_sent_total', 'Events a stage passed on', ['stage']),
    dropped: make('topoflow_events_dropped_total', 'Events dropped on purpose or by a full buffer', ['stage', 'reason']),
    errors: make('topoflow_errors_total', 'Errors by code', ['stage', 'code'])
  }
}
