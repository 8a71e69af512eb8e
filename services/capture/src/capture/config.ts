import type { TopoflowConfig } from '@topoflow/core'
import type { LayerKeyMode } from '../flow/index.ts'
import type { LiveBackend } from '../sources/index.ts'

/** The settings the capture runtime reads, flattened from `topoflow.yml`. */
export interface CaptureRuntimeConfig {
  /** `flow.update`, seconds. */
  flowUpdateSeconds: number
  /** `flow.expire`, seconds. */
  flowExpireSeconds: number
  /** `flow.max_entries`, per flow table. */
  maxEntries: number
  /** `flow.capture_length`: snap length when the capture gives no HeaderSize. */
  captureLength: number
  /** `flow.default_layer_key_mode`. */
  defaultLayerKeyMode: LayerKeyMode
  applicationPorts?: { tcp?: Record<number, string>, udp?: Record<number, string> }
  applicationTimeout?: Record<string, number>
  /** `agent.capture.stats_update`, seconds. */
  statsUpdateSeconds: number
  /** `agent.capture.backend`. */
  backend: LiveBackend
  /** `agent.capture.buffer_timeout_ms`: how long libpcap may hold packets to hand them over in blocks (0: immediate). */
  bufferTimeoutMs: number
  /** `agent.flow.sflow`. */
  sflow: { address: string, minPort: number, maxPort: number }
  /** `agent.flow.pcapsocket`. */
  pcapsocket: { address: string, minPort: number, maxPort: number }
}

export const defaultRuntimeConfig: CaptureRuntimeConfig = {
  flowUpdateSeconds: 60,
  flowExpireSeconds: 600,
  maxEntries: 500000,
  captureLength: 256,
  defaultLayerKeyMode: 'L2',
  statsUpdateSeconds: 1,
  // Measured in bench/capture/live.bench.ts: node_pcap caught every packet where cap lost some, with a ninth of its CPU.
  backend: 'pcap',
  // Measured in bench/capture/zero-drop.bench.ts: at 10 ms the worker spends ~5x less CPU per packet than in immediate mode.
  bufferTimeoutMs: 10,
  sflow: { address: '0.0.0.0', minPort: 6343, maxPort: 6343 },
  pcapsocket: { address: '127.0.0.1', minPort: 8100, maxPort: 8132 }
}

/** The runtime settings of a loaded configuration. */
export function runtimeConfig (config: TopoflowConfig): CaptureRuntimeConfig {
  const flow = config.flow as TopoflowConfig['flow'] & { application_ports?: CaptureRuntimeConfig['applicationPorts'], application_timeout?: Record<string, number> }
  const agent = config.agent as TopoflowConfig['agent'] & { capture?: { stats_update?: number, backend?: LiveBackend, buffer_timeout_ms?: number } }
  const out: CaptureRuntimeConfig = {
    flowUpdateSeconds: flow.update,
    flowExpireSeconds: flow.expire,
    maxEntries: flow.max_entries,
    captureLength: flow.capture_length,
    defaultLayerKeyMode: flow.default_layer_key_mode,
    statsUpdateSeconds: agent.capture?.stats_update ?? defaultRuntimeConfig.statsUpdateSeconds,
    backend: agent.capture?.backend ?? defaultRuntimeConfig.backend,
    bufferTimeoutMs: agent.capture?.buffer_timeout_ms ?? defaultRuntimeConfig.bufferTimeoutMs,
    sflow: { address: agent.flow.sflow.bind_address, minPort: agent.flow.sflow.port_min, maxPort: agent.flow.sflow.port_max },
    pcapsocket: { address: agent.flow.pcapsocket.bind_address, minPort: agent.flow.pcapsocket.min_port, maxPort: agent.flow.pcapsocket.max_port }
  }
  if (flow.application_ports !== undefined) out.applicationPorts = flow.application_ports
  if (flow.application_timeout !== undefined) out.applicationTimeout = flow.application_timeout
  return out
}
