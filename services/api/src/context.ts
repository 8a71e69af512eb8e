import type { Logger, TopoflowConfig } from '@topoflow/core'
import type { FlowSource, GraphSource } from '@topoflow/gremlin'
import type { AlertEngine } from './alerts/engine.ts'
import type { Authenticator } from './auth.ts'
import type { LiveGraph } from './graph/live-graph.ts'
import type { TopologyWriter } from './graph/topology-writer.ts'
import type { ApiMetrics } from './metrics.ts'
import type { CaptureStatusTable } from './resources/capture-status.ts'
import type { ResourceStore } from './resources/store.ts'
import type { WsHub } from './ws/hub.ts'

/** Limits that keep one client from making the API unresponsive. */
export interface ApiLimits {
  /** bytes of a request body */
  bodyLimit: number
  /** ms a Gremlin query may run */
  queryTimeoutMs: number
  /** items a Gremlin result may hold */
  maxResultItems: number
  /** steps a Gremlin query may chain (its depth); each step can multiply the work */
  maxQuerySteps: number
  /** ms after the last graph change before graph-triggered alerts run */
  alertDebounceMs: number
}

export const defaultLimits: ApiLimits = {
  bodyLimit: 1024 * 1024, // 1 MiB
  queryTimeoutMs: 30_000, // 30 s
  maxResultItems: 500_000, // items
  maxQuerySteps: 64, // steps; Skydive's own clients send fewer than 10
  alertDebounceMs: 500 // 0.5 s
}

/** What the routes share. */
export interface ApiContext {
  config: TopoflowConfig
  logger: Logger
  now: () => number
  limits: ApiLimits
  auth: Authenticator
  live: LiveGraph
  /** live graph plus history (MemoryGraph's own, or OpenSearch's) */
  graphSource: GraphSource
  flows?: FlowSource
  resources: ResourceStore
  captureStatus: CaptureStatusTable
  writer: TopologyWriter
  alerts: AlertEngine
  hub: WsHub
  metrics: ApiMetrics
  /** Gremlin with the API's sources and time limit */
  query: (gremlin: string) => Promise<unknown>
  /** `query` answered as JSON text, the same bytes as `JSON.stringify` of its result, made faster */
  queryText: (gremlin: string) => Promise<string>
  /** true once the replicas have been loaded */
  ready: () => boolean
  version: string
}
