import { TopoflowError } from '@topoflow/core'
import { parseGremlin } from '@topoflow/gremlin'
import { isGremlinExpression, parseExpression } from '../alerts/expression.ts'

/** The resource kinds the API stores on `topoflow.resources.v1`. */
export const resourceKinds = ['capture', 'alert', 'noderule', 'edgerule'] as const
export type ResourceKindName = (typeof resourceKinds)[number]

export type Resource = Record<string, unknown> & { UUID: string }

export interface ResourceKind {
  name: ResourceKindName
  /** Skydive's `strings.Title(name)`, used in "<Title> '<id>' not found". */
  title: string
  /** The resource as Skydive would store it: defaults filled, fields in Skydive's order; throws on bad input. */
  normalize(body: Record<string, unknown>, ctx: NormalizeContext): Resource
  /** Captures cannot be patched in Skydive. */
  updatable: boolean
  /** Whether `candidate` duplicates an existing resource (409 "duplicated resource"). */
  duplicates?(existing: Resource, candidate: Resource): boolean
}

export interface NormalizeContext {
  now: number
  defaultLayerKeyMode: 'L2' | 'L3'
}

function invalid (message: string): TopoflowError {
  return new TopoflowError('TOPOFLOW_ERR_INVALID_REQUEST', message)
}

function str (body: Record<string, unknown>, key: string, def = ''): string {
  const v = body[key]
  if (v === undefined || v === null) return def
  if (typeof v !== 'string') throw invalid(`${key}: expected a string, got ${JSON.stringify(v)}`)
  return v
}

function int (body: Record<string, unknown>, key: string, def = 0, min = 0, max = Number.MAX_SAFE_INTEGER): number {
  const v = body[key]
  if (v === undefined || v === null) return def
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) throw invalid(`${key}: expected an integer from ${min} to ${max}, got ${JSON.stringify(v)}`)
  return v
}

function bool (body: Record<string, unknown>, key: string): boolean {
  const v = body[key]
  if (v === undefined || v === null) return false
  if (typeof v !== 'boolean') throw invalid(`${key}: expected true or false, got ${JSON.stringify(v)}`)
  return v
}

function metadata (body: Record<string, unknown>, key: string): Record<string, unknown> {
  const v = body[key]
  if (v === undefined || v === null) return {}
  if (typeof v !== 'object' || Array.isArray(v)) throw invalid(`${key}: expected an object, got ${JSON.stringify(v)}`)
  return v as Record<string, unknown>
}

/** Throws Skydive-like "invalid gremlin" errors with the parser's position and reason. */
function gremlin (key: string, query: string, optional = false): string {
  if (query === '') {
    if (optional) return ''
    throw invalid(`${key}: a Gremlin expression is required`)
  }
  try {
    parseGremlin(query)
  } catch (err) {
    throw invalid(`${key}: invalid Gremlin expression: ${(err as Error).message}`)
  }
  return query
}

function uuid (body: Record<string, unknown>): string {
  return typeof body.UUID === 'string' ? body.UUID : ''
}

/** The fields every resource but a capture starts with, in Skydive's JSON order. */
function described (body: Record<string, unknown>): { UUID: string, Name: string, Description: string } {
  return { UUID: uuid(body), Name: str(body, 'Name'), Description: str(body, 'Description') }
}

/** Capture probe types and what each supports (Skydive's flow/probes/capabilities.go). */
export const captureTypes: Record<string, { bpf: boolean, rawPackets: boolean, extraTcpMetric: boolean, multiplePerNode: boolean }> = {
  afpacket: { bpf: true, rawPackets: true, extraTcpMetric: true, multiplePerNode: true },
  pcap: { bpf: true, rawPackets: true, extraTcpMetric: true, multiplePerNode: true },
  pcapsocket: { bpf: true, rawPackets: true, extraTcpMetric: true, multiplePerNode: false },
  sflow: { bpf: true, rawPackets: true, extraTcpMetric: true, multiplePerNode: false },
  ovssflow: { bpf: true, rawPackets: true, extraTcpMetric: true, multiplePerNode: false },
  dpdk: { bpf: true, rawPackets: true, extraTcpMetric: true, multiplePerNode: false },
  ovsmirror: { bpf: true, rawPackets: true, extraTcpMetric: true, multiplePerNode: false },
  ebpf: { bpf: false, rawPackets: false, extraTcpMetric: true, multiplePerNode: false },
  ovsnetflow: { bpf: true, rawPackets: true, extraTcpMetric: true, multiplePerNode: false }
}

const capture: ResourceKind = {
  name: 'capture',
  title: 'Capture',
  updatable: false,
  normalize (body, ctx) {
    const type = str(body, 'Type')
    if (type !== '' && captureTypes[type] === undefined) throw invalid(`Type: unknown capture type "${type}", expected one of ${Object.keys(captureTypes).join(', ')}`)
    const headerSize = int(body, 'HeaderSize', 0, 0, 4096)
    if (headerSize !== 0 && headerSize < 14) throw invalid(`HeaderSize: expected 0 or 14 to 4096, got ${headerSize}`)
    const layerKeyMode = str(body, 'LayerKeyMode', ctx.defaultLayerKeyMode)
    if (layerKeyMode !== 'L2' && layerKeyMode !== 'L3') throw invalid(`LayerKeyMode: expected L2 or L3, got "${layerKeyMode}"`)
    const targetType = str(body, 'TargetType')
    if (!['', 'netflowv5', 'erspanv1'].includes(targetType)) throw invalid(`TargetType: expected netflowv5 or erspanv1, got "${targetType}"`)
    const target = str(body, 'Target')
    if (target !== '' && !/^[^\s:]+:\d{1,5}$|^\[[0-9a-fA-F:.]+\]:\d{1,5}$/.test(target)) throw invalid(`Target: expected HOST:PORT, got "${target}"`)
    const c: Resource = {
      UUID: uuid(body),
      GremlinQuery: gremlin('GremlinQuery', str(body, 'GremlinQuery')),
      BPFFilter: str(body, 'BPFFilter'),
      Name: str(body, 'Name'),
      Description: str(body, 'Description'),
      Type: type,
      Count: 0,
      Port: int(body, 'Port', 0, 0, 65535),
      SamplingRate: int(body, 'SamplingRate', 0, 0, 0xffffffff),
      PollingInterval: int(body, 'PollingInterval', 0, 0, 0xffffffff),
      RawPacketLimit: int(body, 'RawPacketLimit', 0, 0, 10),
      HeaderSize: headerSize,
      ExtraTCPMetric: bool(body, 'ExtraTCPMetric'),
      IPDefrag: bool(body, 'IPDefrag'),
      ReassembleTCP: bool(body, 'ReassembleTCP'),
      LayerKeyMode: layerKeyMode,
      ExtraLayers: int(body, 'ExtraLayers', 0, 0, 255),
      Target: target,
      TargetType: targetType
    }
    const caps = captureTypes[type]
    if (caps !== undefined) {
      if (c.BPFFilter !== '' && !caps.bpf) throw invalid(`${type} capture doesn't support BPF filtering`)
      if (c.RawPacketLimit !== 0 && !caps.rawPackets) throw invalid(`${type} capture doesn't support raw packet capture`)
      if (c.ExtraTCPMetric === true && !caps.extraTcpMetric) throw invalid(`${type} capture doesn't support extra TCP metrics capture`)
    }
    return c
  },
  duplicates (existing, candidate) {
    if (existing.GremlinQuery !== candidate.GremlinQuery || existing.Type !== candidate.Type) return false
    const type = String(candidate.Type)
    const multiple = type === '' || captureTypes[type]?.multiplePerNode === true
    return !multiple || existing.BPFFilter === candidate.BPFFilter
  }
}

const alert: ResourceKind = {
  name: 'alert',
  title: 'Alert',
  updatable: true,
  normalize (body, ctx) {
    const expression = str(body, 'Expression')
    if (expression === '') throw invalid('Expression: zero value')
    if (isGremlinExpression(expression)) gremlin('Expression', expression)
    else parseExpression(expression)
    // Skydive accepts any Action; only http(s):// webhooks are acted upon (file:// scripts are not run here)
    const action = str(body, 'Action')
    const trigger = str(body, 'Trigger')
    if (!/^(graph|duration:.+|)$/.test(trigger)) throw invalid(`Trigger: expected "graph" or "duration:<duration>" (e.g. duration:10s), got "${trigger}"`)
    if (trigger.startsWith('duration:') && parseGoDuration(trigger.slice(9)) === undefined) {
      throw invalid(`Trigger: "${trigger.slice(9)}" is not a duration such as 10s, 1m or 1h30m`)
    }
    const created = typeof body.CreateTime === 'string' && !Number.isNaN(Date.parse(body.CreateTime)) ? body.CreateTime : new Date(ctx.now).toISOString()
    return {
      ...described(body),
      Expression: expression,
      Action: action,
      Trigger: trigger,
      CreateTime: created
    }
  }
}

const noderule: ResourceKind = {
  name: 'noderule',
  title: 'Noderule',
  updatable: true,
  normalize (body) {
    const action = str(body, 'Action')
    if (action !== 'create' && action !== 'update') throw invalid(`Action: expected create or update, got "${action}"`)
    const md = metadata(body, 'Metadata')
    if (action === 'create' && (typeof md.Type !== 'string' || md.Type === '' || typeof md.Name !== 'string' || md.Name === '')) {
      throw invalid('Metadata: a create rule needs Metadata.Type and Metadata.Name')
    }
    if (action === 'update' && (md.Type !== undefined || md.Name !== undefined)) throw invalid('Name and Type fields can not be changed')
    return {
      ...described(body),
      Metadata: md,
      Action: action,
      Query: gremlin('Query', str(body, 'Query'), true)
    }
  }
}

const edgerule: ResourceKind = {
  name: 'edgerule',
  title: 'Edgerule',
  updatable: true,
  normalize (body) {
    const md = metadata(body, 'Metadata')
    if (typeof md.RelationType !== 'string' || md.RelationType === '') throw invalid('Metadata: RelationType is required')
    return {
      ...described(body),
      Src: gremlin('Src', str(body, 'Src')),
      Dst: gremlin('Dst', str(body, 'Dst')),
      Metadata: md
    }
  }
}

export const kinds: Record<ResourceKindName, ResourceKind> = { capture, alert, noderule, edgerule }

/** Go's omitempty: the JSON Skydive writes leaves these out when they hold their zero value. */
const omitEmpty: Partial<Record<ResourceKindName, string[]>> = {
  capture: ['GremlinQuery', 'BPFFilter', 'Name', 'Description', 'Type', 'Port', 'RawPacketLimit', 'HeaderSize', 'LayerKeyMode', 'ExtraLayers', 'Target', 'TargetType'],
  alert: ['Name', 'Description', 'Expression', 'Action', 'Trigger']
}

/** The resource as Skydive's JSON encoder writes it. */
export function present (kind: ResourceKindName, r: Resource): Resource {
  const drop = omitEmpty[kind]
  if (drop === undefined) return r
  const out: Resource = { UUID: r.UUID }
  for (const [k, v] of Object.entries(r)) {
    if (drop.includes(k) && (v === '' || v === 0 || v === undefined)) continue
    out[k] = v
  }
  return out
}

/** Go's time.ParseDuration subset: `1h30m`, `10s`, `500ms`, `-1m`; ms or undefined. */
export function parseGoDuration (text: string): number | undefined {
  const m = /^([-+]?)((?:\d+(?:\.\d+)?(?:ns|us|µs|ms|s|m|h))+)$/.exec(text)
  if (m === null) return text === '0' ? 0 : undefined
  const units: Record<string, number> = { ns: 1e-6, us: 1e-3, µs: 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 }
  let total = 0
  for (const part of (m[2] ?? '').matchAll(/(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/g)) total += Number(part[1]) * (units[part[2] ?? 's'] ?? 0)
  return m[1] === '-' ? -total : total
}
