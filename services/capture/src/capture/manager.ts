import { TopoflowError, type Bus, type BusMessage, type Logger, type OutgoingMessage } from '@topoflow/core'
import { topics, type CaptureStatusInput, type FlowInput, type Resource } from '@topoflow/schemas'
import { createLiveSource, PcapSocketSource, SFlowSource, type InterfaceMetricsEvent, type PacketSource } from '../sources/index.ts'
import { defaultRuntimeConfig, type CaptureRuntimeConfig } from './config.ts'
import { Outbox } from './outbox.ts'
import { effectiveType, parseCapture, sameRuntime, type CaptureSpec } from './resource.ts'
import { CaptureSession } from './session.ts'

/** An interface node of this host that a capture's Gremlin query selected. */
export interface CaptureTarget {
  nodeId: string
  nodeTID: string
  /** Interface name inside its namespace. */
  name: string
  /** Namespace file (e.g. /run/netns/x, /proc/PID/ns/net); null = the agent's own namespace. */
  netnsPath: string | null
}

/** Builds the packet source of one capture on one interface (tests inject fakes). */
export type SourceFactory = (spec: CaptureSpec, target: CaptureTarget, config: CaptureRuntimeConfig) => PacketSource

/** sFlow counters of a capture's exporter, attributed to the captured node. */
export interface CaptureInterfaceMetrics extends InterfaceMetricsEvent {
  CaptureID: string
  Host: string
  NodeID: string
  NodeTID: string
}

export interface CaptureManagerOptions {
  bus: Bus
  /** This agent's host id (the Host of its nodes, flows and statuses). */
  host: string
  /** Evaluates a Gremlin query on this host's graph and returns its capturable interfaces. */
  resolve: (query: string) => Promise<CaptureTarget[]>
  logger: Logger
  config?: Partial<CaptureRuntimeConfig>
  sourceFactory?: SourceFactory
  onInterfaceMetrics?: (event: CaptureInterfaceMetrics) => void
  /**
   * A live capture (afpacket, pcap) saw a TCP connection open (SYN or SYN-ACK): the agent wires it to
   * a socket scan. Called per such packet: must be cheap and must not throw.
   */
  onConnectionOpened?: () => void
  /** Safety-net re-evaluation of every capture's query, seconds (graph changes also trigger one). */
  resyncSeconds?: number
  /** Captures × interfaces run at once; beyond, the pair gets State error. */
  maxSessions?: number
  /** Flow messages queued for the bus at most. */
  maxPendingFlows?: number
  /** Capture resources tracked at most. */
  maxCaptures?: number
  now?: () => number
}

export interface CaptureManagerStats {
  captures: number
  sessions: number
  invalidResources: number
  resolveErrors: number
  flowsPublished: number
  flowsDropped: number
  statusPublishErrors: number
}

/** The default source of each capture type. */
export const defaultSourceFactory: SourceFactory = (spec, target, config) => {
  const type = effectiveType(spec)
  switch (type) {
    case 'afpacket':
    case 'pcap':
      return createLiveSource({
        iface: target.name,
        bpf: spec.BPFFilter,
        snaplen: spec.HeaderSize > 0 ? spec.HeaderSize : config.captureLength,
        backend: config.backend,
        bufferTimeoutMs: config.bufferTimeoutMs,
        netnsPath: target.netnsPath
      })
    case 'pcapsocket':
      return new PcapSocketSource(config.pcapsocket)
    case 'sflow': {
      const { address, minPort, maxPort } = config.sflow
      return new SFlowSource(spec.Port > 0 ? { address, minPort: spec.Port, maxPort: spec.Port } : { address, minPort, maxPort })
    }
    default:
      throw new TopoflowError('TOPOFLOW_ERR_NOT_IMPLEMENTED', `Capture type ${type} is not supported by this agent (afpacket, pcap, pcapsocket, sflow are)`)
  }
}

/** Capture types whose packets cross this host's interfaces. */
const liveTypes = new Set(['afpacket', 'pcap'])

interface Running {
  key: string
  spec: CaptureSpec
  target: CaptureTarget
  session: CaptureSession
}

/**
 * Runs the captures of this host. Capture resources come from `topoflow.resources.v1`; each
 * one's GremlinQuery is resolved to interfaces of this host, and one session (packet source +
 * flow table) runs per (capture, interface). Queries are re-resolved when the graph changes
 * (`graphChanged()`) and every `resyncSeconds`, so interfaces that appear later are captured.
 * Flows go to `topoflow.flows.raw.v1` at each update and expiry; each session's status goes to
 * `topoflow.capture.status.v1` every `agent.capture.stats_update` seconds, and as 'stopped'
 * (followed by a tombstone) when it ends.
 */
export class CaptureManager {
  readonly config: CaptureRuntimeConfig
  readonly #o: CaptureManagerOptions
  readonly #log: Logger
  readonly #now: () => number
  readonly #factory: SourceFactory
  readonly #captures = new Map<string, CaptureSpec>()
  readonly #running = new Map<string, Running>()
  readonly #outbox: Outbox<FlowInput>
  readonly #stats: CaptureManagerStats = { captures: 0, sessions: 0, invalidResources: 0, resolveErrors: 0, flowsPublished: 0, flowsDropped: 0, statusPublishErrors: 0 }
  #timers: NodeJS.Timeout[] = []
  #reconciling: Promise<void> | undefined
  #dirty = false
  #closed = false
  #publishingStatus = false

  constructor (opts: CaptureManagerOptions) {
    this.#o = opts
    this.#log = opts.logger
    this.#now = opts.now ?? Date.now
    this.#factory = opts.sourceFactory ?? defaultSourceFactory
    this.config = { ...defaultRuntimeConfig, ...opts.config }
    this.#outbox = new Outbox<FlowInput>({
      bus: opts.bus,
      topic: topics.flowsRaw,
      logger: opts.logger,
      maxPending: opts.maxPendingFlows ?? 100000,
      onDrop: (m) => {
        const v = m.value as FlowInput | null | undefined
        if (v === null || v === undefined) return
        const r = this.#running.get(sessionKey(v.CaptureID ?? '', '', v.NodeTID ?? ''))
        if (r !== undefined) r.session.flowsUnpublished++
      }
    })
  }

  /** Starts the periodic work: flow table ticks (1 s), status publication, query re-resolution. */
  start (): void {
    const every = (ms: number, fn: () => void): void => {
      const t = setInterval(fn, ms)
      t.unref()
      this.#timers.push(t)
    }
    every(1000, () => this.tick())
    every(this.config.statsUpdateSeconds * 1000, () => { void this.publishStatus() })
    every((this.#o.resyncSeconds ?? 10) * 1000, () => this.graphChanged())
  }

  /** Handler for a `topoflow.resources.v1` subscription: capture records (and tombstones) only. */
  async handleResources (batch: Array<BusMessage<Resource>>): Promise<void> {
    for (const m of batch) this.applyResource(m.key, m.value)
  }

  /** Applies one record of the resources topic; a null value (tombstone) deletes. */
  applyResource (key: string | null, value: Resource | null): void {
    if (value !== null && value.ResourceType !== 'capture') return
    const uuid = value?.UUID ?? key
    if (uuid === null || uuid === undefined || uuid === '') return
    if (value === null || value.Deleted) {
      if (this.#captures.delete(uuid)) this.#schedule()
      return
    }
    let spec: CaptureSpec
    try {
      spec = parseCapture(uuid, value.Resource)
    } catch (err) {
      this.#stats.invalidResources++
      this.#log.warn({ err: (err as Error).message, captureId: uuid }, 'Ignoring an invalid capture resource')
      if (this.#captures.delete(uuid)) this.#schedule()
      return
    }
    const old = this.#captures.get(uuid)
    if (old === undefined && this.#captures.size >= (this.#o.maxCaptures ?? 1000)) {
      this.#stats.invalidResources++
      this.#log.warn({ captureId: uuid, max: this.#o.maxCaptures ?? 1000 }, 'Too many captures; ignoring this one')
      return
    }
    this.#captures.set(uuid, spec)
    if (old === undefined || !sameRuntime(old, spec)) this.#schedule()
  }

  /** The graph changed: re-resolve every capture's query (coalesced). */
  graphChanged (): void {
    if (this.#captures.size > 0 || this.#running.size > 0) this.#schedule()
  }

  #schedule (): void {
    if (this.#closed) return
    this.#dirty = true
    if (this.#reconciling === undefined) {
      this.#reconciling = this.#reconcileLoop().finally(() => { this.#reconciling = undefined })
    }
  }

  async #reconcileLoop (): Promise<void> {
    // Let a burst of resource records or graph events land first: one reconciliation for all.
    await new Promise((resolve) => setImmediate(resolve))
    while (this.#dirty && !this.#closed) {
      this.#dirty = false
      try {
        await this.#reconcile()
      } catch (err) {
        this.#log.error({ err }, 'Capture reconciliation failed')
      }
    }
  }

  /** Resolves when pending reconciliations are done (tests, shutdown). */
  async settled (): Promise<void> {
    while (this.#reconciling !== undefined) await this.#reconciling
  }

  async #reconcile (): Promise<void> {
    const wanted = new Map<string, { spec: CaptureSpec, target: CaptureTarget }>()
    const unresolved = new Set<string>()
    for (const spec of this.#captures.values()) {
      let targets: CaptureTarget[]
      try {
        targets = await this.#o.resolve(spec.GremlinQuery)
      } catch (err) {
        // Keep what runs: a query that fails now may be a transient graph state.
        this.#stats.resolveErrors++
        unresolved.add(spec.UUID)
        this.#log.warn({ err: (err as Error).message, captureId: spec.UUID, query: spec.GremlinQuery }, 'Cannot resolve the capture query')
        continue
      }
      for (const target of targets) wanted.set(sessionKey(spec.UUID, target.nodeId, target.nodeTID), { spec, target })
    }
    if (this.#closed) return
    // Stop what is no longer wanted or changed.
    const stops: Array<Promise<void>> = []
    for (const [key, r] of this.#running) {
      const w = wanted.get(key)
      if (w === undefined && unresolved.has(r.spec.UUID) && this.#captures.has(r.spec.UUID)) continue
      if (w !== undefined && w.spec === r.spec && sameTarget(w.target, r.target)) continue
      if (w !== undefined && sameRuntime(w.spec, r.spec) && sameTarget(w.target, r.target)) { r.spec = w.spec; continue }
      this.#running.delete(key)
      stops.push(this.#stopSession(r))
    }
    await Promise.all(stops)
    // Start the new ones.
    const starts: Array<Promise<void>> = []
    for (const [key, w] of wanted) {
      if (this.#running.has(key) || this.#closed) continue
      starts.push(this.#startSession(key, w.spec, w.target))
    }
    await Promise.all(starts)
    this.#stats.captures = this.#captures.size
    this.#stats.sessions = this.#running.size
  }

  async #startSession (key: string, spec: CaptureSpec, target: CaptureTarget): Promise<void> {
    const type = effectiveType(spec)
    let source: PacketSource
    let setupError: TopoflowError | undefined
    try {
      if (this.#running.size >= (this.#o.maxSessions ?? 256)) {
        throw new TopoflowError('TOPOFLOW_ERR_CAPTURE', `Too many captures on this agent (${this.#o.maxSessions ?? 256})`)
      }
      source = this.#factory(spec, target, this.config)
    } catch (err) {
      setupError = TopoflowError.is(err) ? err : new TopoflowError('TOPOFLOW_ERR_CAPTURE', String((err as Error).message), { cause: err })
      source = failedSource(setupError)
    }
    const c = this.config
    const session = new CaptureSession({
      captureId: spec.UUID,
      nodeId: target.nodeId,
      nodeTID: target.nodeTID,
      host: this.#o.host,
      type,
      source,
      table: {
        updateSeconds: c.flowUpdateSeconds,
        expireSeconds: c.flowExpireSeconds,
        maxEntries: c.maxEntries,
        layerKeyMode: spec.LayerKeyMode === '' ? c.defaultLayerKeyMode : spec.LayerKeyMode,
        extraTcpMetric: spec.ExtraTCPMetric,
        ...(c.applicationPorts !== undefined ? { applicationPorts: c.applicationPorts } : {}),
        ...(c.applicationTimeout !== undefined ? { applicationTimeout: c.applicationTimeout } : {})
      },
      onFlows: (flows) => this.#queueFlows(flows),
      onInterfaceMetrics: (ev, s) => this.#o.onInterfaceMetrics?.({ ...ev, CaptureID: s.captureId, Host: this.#o.host, NodeID: s.nodeId, NodeTID: s.nodeTID }),
      // Only a live capture sees this host's own connections as they open; sFlow samples and pcap streams come from elsewhere.
      ...(this.#o.onConnectionOpened === undefined || !liveTypes.has(type) ? {} : { onConnectionOpened: this.#o.onConnectionOpened }),
      // Live captures filter in the kernel; packets of streams and sFlow samples are filtered here.
      ...(liveTypes.has(type) || spec.BPFFilter === '' ? {} : { bpf: spec.BPFFilter }),
      logger: this.#log.child({ captureId: spec.UUID, nodeId: target.nodeId, iface: target.name })
    })
    const r: Running = { key, spec, target, session }
    this.#running.set(key, r)
    await session.start()
    this.#log.info({ captureId: spec.UUID, nodeId: target.nodeId, iface: target.name, netns: target.netnsPath, type, state: session.state, error: session.error }, 'Capture started')
    await this.#publishStatuses([session])
  }

  async #stopSession (r: Running): Promise<void> {
    await r.session.stop()
    r.session.state = 'stopped'
    this.#log.info({ captureId: r.spec.UUID, nodeId: r.target.nodeId }, 'Capture stopped')
    await this.#publishStatuses([r.session])
    const key = `${r.session.captureId}/${r.session.nodeId}`
    try {
      await this.#o.bus.publish(topics.captureStatus, [{ key, value: null }])
    } catch (err) {
      this.#stats.statusPublishErrors++
      this.#log.warn({ err, key }, 'Cannot publish the capture status tombstone')
    }
  }

  #queueFlows (flows: FlowInput[]): void {
    const messages: Array<OutgoingMessage<FlowInput>> = flows.map((f) => ({ key: f.UUID, value: f }))
    this.#outbox.push(messages)
  }

  /** Advances every live session's flow table to the wall clock (updates, expiry). */
  tick (now = this.#now()): void {
    for (const r of this.#running.values()) r.session.tick(now)
  }

  /** Publishes the status of every session (one call per `agent.capture.stats_update`). */
  async publishStatus (): Promise<void> {
    if (this.#publishingStatus) return
    this.#publishingStatus = true
    try {
      await this.#publishStatuses([...this.#running.values()].map((r) => r.session))
    } finally {
      this.#publishingStatus = false
    }
  }

  async #publishStatuses (sessions: CaptureSession[]): Promise<void> {
    if (sessions.length === 0) return
    const now = this.#now()
    const messages: Array<OutgoingMessage<CaptureStatusInput>> = sessions.map((s) => ({ key: `${s.captureId}/${s.nodeId}`, value: s.status(this.#o.host, now) }))
    try {
      await this.#o.bus.publish(topics.captureStatus, messages)
    } catch (err) {
      this.#stats.statusPublishErrors++
      this.#log.warn({ err, count: messages.length }, 'Cannot publish capture status')
    }
  }

  /** Statuses of the running sessions, as they would be published now. */
  statuses (): CaptureStatusInput[] {
    const now = this.#now()
    return [...this.#running.values()].map((r) => r.session.status(this.#o.host, now))
  }

  /** The session of a capture on a node, if it runs. */
  session (captureId: string, nodeId: string): CaptureSession | undefined {
    for (const r of this.#running.values()) if (r.spec.UUID === captureId && r.target.nodeId === nodeId) return r.session
    return undefined
  }

  stats (): CaptureManagerStats {
    return { ...this.#stats, captures: this.#captures.size, sessions: this.#running.size, flowsPublished: this.#outbox.published, flowsDropped: this.#outbox.dropped }
  }

  /** Flows queued for the bus. */
  get pendingFlows (): number { return this.#outbox.pending }

  /** Resolves when every flow queued so far has been published. */
  async flushed (): Promise<void> {
    await this.#outbox.idle()
  }

  /** Stops every capture (their last flows are published), then the timers. */
  async close (timeoutMs = 5000): Promise<void> {
    if (this.#closed) return
    this.#closed = true
    for (const t of this.#timers) clearInterval(t)
    this.#timers = []
    await this.settled()
    const running = [...this.#running.values()]
    this.#running.clear()
    await Promise.all(running.map((r) => this.#stopSession(r)))
    await this.#outbox.close(timeoutMs)
  }
}

function sessionKey (captureId: string, nodeId: string, nodeTID: string): string {
  // NodeTID is stable across agent restarts and on every flow: it identifies the interface.
  return `${captureId}|${nodeTID !== '' ? nodeTID : nodeId}`
}

function sameTarget (a: CaptureTarget, b: CaptureTarget): boolean {
  return a.nodeId === b.nodeId && a.name === b.name && a.netnsPath === b.netnsPath
}

/** A source that cannot start: the session records the error as its state. */
function failedSource (err: TopoflowError): PacketSource {
  return {
    kind: 'cap',
    start: async () => { throw err },
    close: async () => {},
    stats: () => ({ received: 0, dropped: 0 })
  }
}
