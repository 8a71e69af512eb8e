import { readFileSync } from 'node:fs'
import { hostname } from 'node:os'
import { Ajv, type ErrorObject } from 'ajv'
import { parse as parseYaml } from 'yaml'
import { configSchema } from './config-schema.ts'
import { TopoflowError } from './errors.ts'
import { getOwn, setOwn } from './json.ts'

export { configSchema }

export interface AuthBackend { type: 'noauth' | 'basic', users?: Record<string, string>, file?: string }

/** The validated configuration, defaults filled in. */
export interface TopoflowConfig {
  host_id: string
  logging: { level: string }
  kafka: { brokers: string[], client_id: string }
  opensearch: { url: string, index_prefix: string, retention_days: number, archive_retention_days: number, replicas: number, bulk_max_docs: number, bulk_flush_ms: number }
  analyzer: {
    listen: string
    /** HTTPS for the API when both files are set */
    tls?: { cert_file?: string, key_file?: string }
    auth: { api: { backend: string } }
    startup: { capture_gremlin: string, capture_bpf: string, capture_type: string }
    topology: { probes: string[], fabric: string[], host_timeout: number, k8s: { listen: string, config_file?: string, cluster_name: string, probes?: string[] } }
    flow: { max_buffer_size: number }
    /** all-in-one store: seconds of history kept and hard caps on what it holds */
    history: { window: number, max_revisions: number, max_flows: number }
  }
  agent: {
    /** operations endpoints (/metrics, /healthz, /readyz) of the capture agent */
    listen: string
    topology: { probes: string[], netlink: { metrics_update: number }, socketinfo: { host_update: number, on_connect_min_interval: number }, resync: number }
    flow: { sflow: { bind_address: string, port_min: number, port_max: number }, pcapsocket: { bind_address: string, min_port: number, max_port: number } }
    capture: { stats_update: number, backend: 'cap' | 'pcap', buffer_timeout_ms: number }
    metadata: Record<string, unknown>
  }
  flow: { expire: number, update: number, max_entries: number, default_layer_key_mode: 'L2' | 'L3', capture_length: number }
  enricher: { listen: string, join_wait: number, max_pending: number }
  graph_builder: { listen: string }
  netns: { run_path: string }
  auth: Record<string, AuthBackend>
}

/** Environment variables read besides the `TOPOFLOW_<SECTION>_<KEY>` overrides. */
const shortcuts: Record<string, string> = {
  KAFKA_BROKERS: 'kafka.brokers',
  OPENSEARCH_URL: 'opensearch.url'
}

/**
 * Loads `topoflow.yml` (optional), applies `TOPOFLOW_*` overrides, fills defaults and validates.
 * Throws one TopoflowError listing every problem with its path, so a user fixes them all in one go.
 */
export function loadConfig (opts: { file?: string, env?: NodeJS.ProcessEnv, overrides?: Record<string, unknown> } = {}): TopoflowConfig {
  const env = opts.env ?? {}
  let raw: unknown = {}
  if (opts.file !== undefined) {
    let text: string
    try {
      text = readFileSync(opts.file, 'utf8')
    } catch (err) {
      throw new TopoflowError('TOPOFLOW_ERR_CONFIG', `Cannot read config file ${opts.file}: ${(err as Error).message}`, { cause: err })
    }
    try {
      raw = parseYaml(text) ?? {}
    } catch (err) {
      throw new TopoflowError('TOPOFLOW_ERR_CONFIG', `${opts.file}: not valid YAML: ${(err as Error).message}`, { cause: err })
    }
    if (typeof raw !== 'object' || Array.isArray(raw)) {
      throw new TopoflowError('TOPOFLOW_ERR_CONFIG', `${opts.file}: expected a mapping at the top level`)
    }
  }
  const config = structuredClone(raw) as Record<string, unknown>
  for (const [path, value] of Object.entries(envOverrides(env))) setPath(config, path, value)
  for (const [path, value] of Object.entries(opts.overrides ?? {})) setPath(config, path, value)

  const ajv = new Ajv({ allErrors: true, useDefaults: true, strict: false })
  const validate = ajv.compile(configSchema)
  if (!validate(config)) {
    const problems = (validate.errors ?? []).map(describe)
    const where = opts.file ?? 'configuration'
    throw new TopoflowError('TOPOFLOW_ERR_CONFIG', `${where} is invalid:\n  - ${problems.join('\n  - ')}`, { context: { problems } })
  }
  const result = config as unknown as TopoflowConfig
  if (result.host_id === undefined) result.host_id = hostname()
  return result
}

function describe (e: ErrorObject): string {
  const path = e.instancePath === '' ? '(top level)' : e.instancePath.slice(1).replaceAll('/', '.')
  if (e.keyword === 'additionalProperties') {
    const key = (e.params as { additionalProperty: string }).additionalProperty
    return `${e.instancePath === '' ? key : `${path}.${key}`}: unknown key`
  }
  if (e.keyword === 'enum') return `${path}: must be one of ${(e.params as { allowedValues: unknown[] }).allowedValues.join(', ')}`
  return `${path}: ${e.message ?? 'invalid'}`
}

/** Every leaf path of the schema, e.g. `analyzer.startup.capture_bpf`. */
function leafPaths (schema: Record<string, unknown>, prefix = ''): Array<{ path: string, type: string }> {
  const props = schema.properties as Record<string, Record<string, unknown>> | undefined
  if (props === undefined) return [{ path: prefix, type: String(schema.type ?? 'string') }]
  return Object.entries(props).flatMap(([key, sub]) => leafPaths(sub, prefix === '' ? key : `${prefix}.${key}`))
}

const envNames = new Map(leafPaths(configSchema).map(({ path, type }) =>
  [`TOPOFLOW_${path.replaceAll('.', '_').toUpperCase()}`, { path, type }]))

/** `TOPOFLOW_ANALYZER_LISTEN=...` → `{ 'analyzer.listen': ... }`; lists are comma-separated. */
export function envOverrides (env: NodeJS.ProcessEnv): Record<string, unknown> {
  const out: Record<string, unknown> = {}
  for (const [name, path] of Object.entries(shortcuts)) {
    const v = env[name]
    if (v !== undefined && v !== '') out[path] = path === 'kafka.brokers' ? splitList(v) : v
  }
  for (const [name, value] of Object.entries(env)) {
    if (value === undefined || !name.startsWith('TOPOFLOW_')) continue
    const known = envNames.get(name)
    if (known === undefined) continue
    out[known.path] = coerce(value, known.type)
  }
  return out
}

function splitList (v: string): string[] {
  return v.split(',').map((s) => s.trim()).filter((s) => s !== '')
}

function coerce (value: string, type: string): unknown {
  if (type === 'array') return splitList(value)
  if (type === 'integer' || type === 'number') return value.trim() !== '' && !Number.isNaN(Number(value)) ? Number(value) : value
  if (type === 'boolean') return value === 'true' ? true : value === 'false' ? false : value
  return value
}

function setPath (target: Record<string, unknown>, path: string, value: unknown): void {
  const keys = path.split('.')
  let node = target
  for (const key of keys.slice(0, -1)) {
    const next = getOwn(node, key)
    if (typeof next === 'object' && next !== null) { node = next as Record<string, unknown>; continue }
    const created: Record<string, unknown> = {}
    setOwn(node, key, created)
    node = created
  }
  setOwn(node, keys[keys.length - 1] as string, value)
}

/** `host:port` → parts; `:8082` or `8082` listen on all interfaces. */
export function parseListen (listen: string): { host: string, port: number } {
  const i = listen.lastIndexOf(':')
  const host = i <= 0 ? '0.0.0.0' : listen.slice(0, i)
  const port = Number(i < 0 ? listen : listen.slice(i + 1))
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new TopoflowError('TOPOFLOW_ERR_CONFIG', `listen address "${listen}": expected HOST:PORT with a port from 0 to 65535`)
  }
  return { host: host.replace(/^\[(.*)\]$/, '$1'), port }
}
