import { Counter, Gauge, Histogram, type Registry } from '@topoflow/core'

/** Every metric of the enricher, declared once. */
export function enricherMetrics (registry: Registry): {
  flowsIn: Counter
  flowsOut: Counter
  hits: Counter<'field'>
  lookups: Counter<'field'>
  joinWait: Histogram
  pending: Gauge
  deadLetters: Counter<'reason'>
  lookupEvents: Counter<'topic'>
  lookupEventsInvalid: Counter<'topic'>
  flowDelay: Gauge
} {
  const registers = [registry]
  return {
    flowsIn: new Counter({ name: 'topoflow_enricher_flows_in_total', help: 'Raw flow updates consumed', registers }),
    flowsOut: new Counter({ name: 'topoflow_enricher_flows_out_total', help: 'Enriched flow updates published and indexed', registers }),
    hits: new Counter({ name: 'topoflow_enricher_hits_total', help: 'Flow ends for which a lookup found the field (hit ratio = hits / lookups)', labelNames: ['field'], registers }),
    lookups: new Counter({ name: 'topoflow_enricher_lookups_total', help: 'Flow ends looked up, per field', labelNames: ['field'], registers }),
    joinWait: new Histogram({ name: 'topoflow_enricher_join_wait_seconds', help: 'Time a flow waited for socket data', buckets: [0, 0.1, 0.5, 1, 2, 5, 10], registers }),
    pending: new Gauge({ name: 'topoflow_enricher_pending_flows', help: 'Flows waiting for socket data', registers }),
    deadLetters: new Counter({ name: 'topoflow_enricher_dead_letters_total', help: 'Flows that could not be indexed', labelNames: ['reason'], registers }),
    lookupEvents: new Counter({ name: 'topoflow_enricher_lookup_events_total', help: 'Lookup events applied, per topic', labelNames: ['topic'], registers }),
    lookupEventsInvalid: new Counter({ name: 'topoflow_enricher_lookup_events_invalid_total', help: 'Lookup messages skipped because they are not what their topic holds, per topic', labelNames: ['topic'], registers }),
    flowDelay: new Gauge({ name: 'topoflow_enricher_flow_delay_seconds', help: 'How far behind the enricher is: now minus the last packet time of the newest flow update of the last batch', registers })
  }
}
