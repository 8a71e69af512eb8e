import { Counter, Gauge, Histogram, type Registry } from '@topoflow/core'

/** Every metric of the API, declared once. */
export interface ApiMetrics {
  requests: Counter<'method' | 'route' | 'status'>
  requestSeconds: Histogram<'route'>
  gremlinQueries: Counter<'outcome'>
  alertsFired: Counter
  alertWebhookFailures: Counter
  wsClients: Gauge<'endpoint'>
  graphElements: Gauge<'kind'>
  topologyChanges: Counter
}

function once<T> (registry: Registry, name: string, make: () => T): T {
  return (registry.getSingleMetric(name) as T | undefined) ?? make()
}

export function apiMetrics (registry: Registry, sizes: () => { nodes: number, edges: number }): ApiMetrics {
  const registers = [registry]
  return {
    requests: once(registry, 'topoflow_api_requests_total', () => new Counter({ name: 'topoflow_api_requests_total', help: 'HTTP requests by method, route and status', labelNames: ['method', 'route', 'status'], registers })),
    requestSeconds: once(registry, 'topoflow_api_request_duration_seconds', () => new Histogram({ name: 'topoflow_api_request_duration_seconds', help: 'HTTP request duration', labelNames: ['route'], buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5], registers })),
    gremlinQueries: once(registry, 'topoflow_api_gremlin_queries_total', () => new Counter({ name: 'topoflow_api_gremlin_queries_total', help: 'Gremlin queries by outcome (ok, error, timeout)', labelNames: ['outcome'], registers })),
    alertsFired: once(registry, 'topoflow_api_alerts_fired_total', () => new Counter({ name: 'topoflow_api_alerts_fired_total', help: 'Alerts triggered', registers })),
    alertWebhookFailures: once(registry, 'topoflow_api_alert_webhook_failures_total', () => new Counter({ name: 'topoflow_api_alert_webhook_failures_total', help: 'Alert webhook calls that failed', registers })),
    wsClients: once(registry, 'topoflow_api_websocket_clients', () => new Gauge({ name: 'topoflow_api_websocket_clients', help: 'Connected websocket clients by endpoint', labelNames: ['endpoint'], registers })),
    graphElements: once(registry, 'topoflow_api_graph_elements', () => new Gauge({
      name: 'topoflow_api_graph_elements',
      help: 'Nodes and edges in the live graph replica',
      labelNames: ['kind'],
      registers,
      collect () {
        const s = sizes()
        this.set({ kind: 'node' }, s.nodes)
        this.set({ kind: 'edge' }, s.edges)
      }
    })),
    topologyChanges: once(registry, 'topoflow_api_topology_changes_total', () => new Counter({ name: 'topoflow_api_topology_changes_total', help: 'Graph events applied to the live replica', registers }))
  }
}
