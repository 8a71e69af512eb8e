import { Counter, Gauge, Histogram, stageMetrics, type Registry } from '@topoflow/core'

/** Every metric the graph-builder reports, declared once (style rule 13). */
export function graphMetrics (registry: Registry): {
  stage: ReturnType<typeof stageMetrics>
  applied: Counter<'topic'>
  changes: Counter<'element' | 'op'>
  nodes: Gauge
  edges: Gauge
  pendingEdges: Gauge
  pendingDropped: Counter<'reason'>
  hostLastSync: Gauge<'host'>
  lag: Histogram
  outbox: Gauge
} {
  const registers = [registry]
  const existing = <T>(name: string): T | undefined => registry.getSingleMetric(name) as T | undefined
  return {
    stage: stageMetrics(registry),
    applied: existing('topoflow_graph_events_applied_total') ?? new Counter({ name: 'topoflow_graph_events_applied_total', help: 'Input events applied to the graph, by topic', labelNames: ['topic'], registers }),
    changes: existing('topoflow_graph_changes_total') ?? new Counter({ name: 'topoflow_graph_changes_total', help: 'Element revisions published, by element type and operation', labelNames: ['element', 'op'], registers }),
    nodes: existing('topoflow_graph_nodes') ?? new Gauge({ name: 'topoflow_graph_nodes', help: 'Nodes in the graph', registers }),
    edges: existing('topoflow_graph_edges') ?? new Gauge({ name: 'topoflow_graph_edges', help: 'Edges in the graph', registers }),
    pendingEdges: existing('topoflow_graph_pending_edges') ?? new Gauge({ name: 'topoflow_graph_pending_edges', help: 'Edges waiting for one of their ends', registers }),
    pendingDropped: existing('topoflow_graph_pending_edges_dropped_total') ?? new Counter({ name: 'topoflow_graph_pending_edges_dropped_total', help: 'Waiting edges given up on, by reason (bound, age)', labelNames: ['reason'], registers }),
    hostLastSync: existing('topoflow_graph_host_last_seen_seconds') ?? new Gauge({ name: 'topoflow_graph_host_last_seen_seconds', help: 'When each host\'s agent was last heard from (epoch s)', labelNames: ['host'], registers }),
    lag: existing('topoflow_graph_apply_lag_seconds') ?? new Histogram({ name: 'topoflow_graph_apply_lag_seconds', help: 'Time from an event\'s Time to its application', buckets: [0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 300], registers }),
    outbox: existing('topoflow_graph_outbox_changes') ?? new Gauge({ name: 'topoflow_graph_outbox_changes', help: 'Changes applied but not yet acknowledged by the history sink and the bus', registers })
  }
}
