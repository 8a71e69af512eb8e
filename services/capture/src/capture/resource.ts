import { TopoflowError } from '@topoflow/core'
import type { LayerKeyMode } from '../flow/index.ts'

/**
 * A capture resource as the API stores it (Skydive's `api/types.Capture`, reference §2.3),
 * validated and with defaults applied.
 */
export interface CaptureSpec {
  UUID: string
  GremlinQuery: string
  BPFFilter: string
  /** As requested: '' (auto), afpacket, pcap, pcapsocket, sflow, or a type this agent does not run. */
  Type: string
  /** 0 = `flow.capture_length`. */
  HeaderSize: number
  LayerKeyMode: LayerKeyMode | ''
  SamplingRate: number
  PollingInterval: number
  /** sFlow port asked for; 0 = first free port of `agent.flow.sflow`. */
  Port: number
  ExtraTCPMetric: boolean
  RawPacketLimit: number
  Name: string
}

/** Capture types this agent runs; the others (ebpf, ovssflow, dpdk...) end in State error. */
export const supportedCaptureTypes = ['', 'afpacket', 'pcap', 'pcapsocket', 'sflow'] as const

function invalid (uuid: string, message: string): TopoflowError {
  return new TopoflowError('TOPOFLOW_ERR_INVALID_REQUEST', `Capture ${uuid}: ${message}`, { context: { captureId: uuid } })
}

function str (uuid: string, o: Record<string, unknown>, key: string): string {
  const v = o[key]
  if (v === undefined || v === null) return ''
  if (typeof v !== 'string') throw invalid(uuid, `${key} must be a string`)
  return v
}

function int (uuid: string, o: Record<string, unknown>, key: string, min: number, max: number): number {
  const v = o[key]
  if (v === undefined || v === null) return 0
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) throw invalid(uuid, `${key} must be an integer from ${min} to ${max}, got ${JSON.stringify(v)}`)
  return v
}

/** Validates a capture resource object; throws TOPOFLOW_ERR_INVALID_REQUEST with the reason. */
export function parseCapture (uuid: string, resource: unknown): CaptureSpec {
  if (typeof resource !== 'object' || resource === null || Array.isArray(resource)) throw invalid(uuid, 'the resource is not an object')
  const o = resource as Record<string, unknown>
  const query = str(uuid, o, 'GremlinQuery')
  if (query.trim() === '') throw invalid(uuid, 'GremlinQuery is required')
  const headerSize = int(uuid, o, 'HeaderSize', 0, 4096)
  if (headerSize !== 0 && headerSize < 14) throw invalid(uuid, `HeaderSize must be 0 or from 14 to 4096, got ${headerSize}`)
  const keyMode = str(uuid, o, 'LayerKeyMode')
  if (keyMode !== '' && keyMode !== 'L2' && keyMode !== 'L3') throw invalid(uuid, `LayerKeyMode must be L2 or L3, got ${JSON.stringify(keyMode)}`)
  const extra = o.ExtraTCPMetric
  if (extra !== undefined && extra !== null && typeof extra !== 'boolean') throw invalid(uuid, 'ExtraTCPMetric must be a boolean')
  return {
    UUID: uuid,
    GremlinQuery: query,
    BPFFilter: str(uuid, o, 'BPFFilter'),
    Type: str(uuid, o, 'Type'),
    HeaderSize: headerSize,
    LayerKeyMode: keyMode,
    SamplingRate: int(uuid, o, 'SamplingRate', 0, 0xffffffff),
    PollingInterval: int(uuid, o, 'PollingInterval', 0, 0xffffffff),
    Port: int(uuid, o, 'Port', 0, 65535),
    ExtraTCPMetric: extra === true,
    RawPacketLimit: int(uuid, o, 'RawPacketLimit', 0, 10),
    Name: str(uuid, o, 'Name')
  }
}

/** The probe that runs a capture of this type ('' is afpacket, Skydive's default for interfaces). */
export function effectiveType (spec: CaptureSpec): string {
  return spec.Type === '' ? 'afpacket' : spec.Type
}

/** Same capture for the runtime: a change in any of these restarts its sessions. */
export function sameRuntime (a: CaptureSpec, b: CaptureSpec): boolean {
  return a.GremlinQuery === b.GremlinQuery && a.BPFFilter === b.BPFFilter && a.Type === b.Type && a.HeaderSize === b.HeaderSize &&
    a.LayerKeyMode === b.LayerKeyMode && a.Port === b.Port && a.ExtraTCPMetric === b.ExtraTCPMetric
}
