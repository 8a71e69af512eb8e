import { randomUUID } from 'node:crypto'
import { setTimeout as sleep } from 'node:timers/promises'
import { TopoflowError, toTopoflowError, type Bus, type BusMessage, type Logger, type Registry, type Subscription, type TopoflowConfig } from '@topoflow/core'
import { topics, topologyChangesMarkerPrefix } from '@topoflow/schemas'
import { GraphEngine } from './graph/engine.ts'
import type { ChangeRecord } from './graph/store.ts'
import { parseFabric } from './fabric/parser.ts'
import type { HistorySink } from './history/sink.ts'
import type { QueryCompiler } from './rules/query.ts'
import { graphMetrics } from './metrics.ts'
import type { GraphInput, ResourceType, TopologyChange } from './types.ts'

export interface GraphBuilderOptions {
  config: TopoflowConfig
  bus: Bus
  history?: HistorySink
  logger: Logger
  registry: Registry
  /** epoch ms; only for inputs without a time, host timeouts and recovery */
  now?: () => number
  /** consumer group of the input topics */
  group?: string
  /** how often silent hosts are looked for (ms); 0 = only when `tick()` is called */
  tickIntervalMs?: number
  /** publish a tombstone after each delete so compaction forgets deleted elements */
  tombstones?: boolean
  /** recovery ends this long after the marker came back with nothing else arriving (ms) */
  recoveryIdleMs?: number
  /** recovery fails start-up past this (ms) */
  recoveryTimeoutMs?: number
  /** a recovery still under way logs how far it got this often (ms, default 5000) */
  recoveryProgressMs?: number
  pendingMax?: number
  compileQuery?: QueryCompiler
}

export interface GraphBuilder {
  readonly engine: GraphEngine
  start(): Promise<void>
  close(): Promise<void>
  /** Expires silent hosts and stale pending edges now, and publishes what that changed. */
  tick(): Promise<void>
  /** Resolves once every change applied so far is written to history and published. */
  flushed(): Promise<void>
  ready(): boolean
}

const inputTopics = [topics.topologyEvents, topics.sockets, topics.k8s, topics.captureStatus] as const

/**
 * The graph-builder service: consumes the five input topics, applies them to the graph, writes the
 * history and publishes every revision to the compacted changes topic. On start it rebuilds the graph
 * from that topic first, so revisions go on where they stopped.
 *
 * Delivery: applied changes wait in an outbox until the history sink and the bus acknowledged them;
 * the input offsets commit only after that, and a failed write is retried on the next batch or tick.
 */
export function buildGraphBuilder (opts: GraphBuilderOptions): GraphBuilder {
  const { config, bus, history, registry } = opts
  const logger = opts.logger.child({ component: 'graph-builder' })
  const now = opts.now ?? Date.now
  const metrics = graphMetrics(registry)
  const stage = 'graph-builder'
  // Parse now: a bad fabric line must fail start-up, not the first event.
  const fabric = parseFabric(config.analyzer.topology.fabric ?? [])
  const engine = new GraphEngine({
    origin: `analyzer.${config.host_id}`,
    hostTimeoutMs: config.analyzer.topology.host_timeout * 1000,
    pendingMax: opts.pendingMax,
    fabric,
    clusterName: config.analyzer.topology.k8s?.cluster_name ?? '',
    compileQuery: opts.compileQuery,
    now
  })
  const tombstones = opts.tombstones ?? true
  let outbox: ChangeRecord[] = []
  let chain: Promise<void> = Promise.resolve()
  const subscriptions: Subscription[] = []
  let timer: NodeJS.Timeout | null = null
  let state: 'new' | 'recovering' | 'running' | 'closed' = 'new'
  let reported = { bound: 0, age: 0 }

  /** Runs one step at a time: the engine is synchronous but a flush is not, and order matters. */
  const exclusive = async <T>(fn: () => Promise<T>): Promise<T> => {
    const run = chain.then(fn)
    chain = run.then(() => {}, () => {})
    return await run
  }

  const flush = async (): Promise<void> => {
    if (outbox.length === 0) return
    const batch = outbox
    // History first: whatever reached the changes topic is then already in the history.
    if (history !== undefined) await history.write(batch)
    const messages = batch.flatMap(({ change }) => {
      const el = change.ElementType === 'node' ? change.Node : change.Edge
      const key = el?.ID ?? null
      const out: Array<{ key: string | null, value: TopologyChange | null }> = [{ key, value: change }]
      if (tombstones && change.Op === 'delete') out.push({ key, value: null })
      return out
    })
    await bus.publish(topics.topologyChanges, messages)
    outbox = outbox.slice(batch.length)
    for (const { change } of batch) metrics.changes.inc({ element: change.ElementType, op: change.Op })
    metrics.stage.sent.inc({ stage }, batch.length)
    metrics.outbox.set(outbox.length)
  }

  const observe = (): void => {
    metrics.nodes.set(engine.store.nodeCount)
    metrics.edges.set(engine.store.edgeCount)
    metrics.pendingEdges.set(engine.pendingEdges)
    const dropped = engine.stats.pendingDropped
    if (dropped.bound > reported.bound) metrics.pendingDropped.inc({ reason: 'bound' }, dropped.bound - reported.bound)
    if (dropped.age > reported.age) metrics.pendingDropped.inc({ reason: 'age' }, dropped.age - reported.age)
    reported = { ...dropped }
    metrics.outbox.set(outbox.length)
  }

  const applyOne = (input: GraphInput, topic: string, time: number | undefined): TopoflowError | null => {
    try {
      outbox.push(...engine.apply(input))
      metrics.applied.inc({ topic })
      metrics.stage.received.inc({ stage })
      if (typeof time === 'number' && time > 0) metrics.lag.observe(Math.max(0, (now() - time) / 1000))
      if (input.kind === 'topology' || input.kind === 'sockets') {
        const host = input.kind === 'topology' ? input.event.Host : input.snapshot.Host
        const seen = engine.hostLastSeen.get(host)
        if (seen !== undefined) metrics.hostLastSync.set({ host }, seen / 1000)
      }
      return null
    } catch (err) {
      const error = toTopoflowError(err)
      const records = (err as { records?: ChangeRecord[] }).records
      if (records !== undefined) outbox.push(...records)
      metrics.stage.errors.inc({ stage, code: error.code })
      logger.warn({ err: error, topic }, 'Input rejected')
      return error
    }
  }

  const handleInputs = async (batch: Array<BusMessage<unknown>>): Promise<void> => {
    await exclusive(async () => {
      let firstError: TopoflowError | null = null
      for (const message of batch) {
        for (const { input, time } of toInputs(message)) {
          const error = applyOne(input, message.topic, time)
          firstError ??= error
        }
      }
      observe()
      await flush()
      // The good messages are applied and published; throwing a permanent error now makes the bus hand
      // the batch back one message at a time (re-applying is a no-op) and dead-letter the bad one.
      if (firstError !== null) throw new TopoflowError(firstError.code, firstError.message, { cause: firstError, retriable: false, context: firstError.context })
    })
  }

  /** Runs one engine step alone, then publishes what it changed. */
  const publishStep = async (step: () => ChangeRecord[]): Promise<void> => {
    await exclusive(async () => {
      outbox.push(...step())
      observe()
      await flush()
    })
  }

  const tick = async (): Promise<void> => { await publishStep(() => engine.tick(now())) }

  const recover = async (): Promise<void> => {
    const marker = `${topologyChangesMarkerPrefix}${randomUUID()}`
    let restored = 0
    let sawMarker = false
    // Waiting is about wall time, not graph time: the injected clock may stand still (tests, replays).
    const wall = (): number => performance.now()
    let lastMessageAt = wall()
    const sub = await bus.subscribe<TopologyChange>({
      topics: [topics.topologyChanges],
      group: `graph-builder-recovery-${randomUUID()}`,
      fromBeginning: true,
      handler: async (batch) => {
        lastMessageAt = wall()
        for (const m of batch) {
          if (m.key?.startsWith(topologyChangesMarkerPrefix) === true) {
            if (m.key === marker) sawMarker = true
            continue
          }
          if (m.value === null) {
            if (m.key !== null) { engine.store.forget('node', m.key); engine.store.forget('edge', m.key) }
            continue
          }
          engine.restore(m.value)
          restored++
        }
      }
    })
    try {
      await bus.publish(topics.topologyChanges, [{ key: marker, value: null }])
      const idleMs = opts.recoveryIdleMs ?? 500
      const deadline = wall() + (opts.recoveryTimeoutMs ?? 120_000)
      const progressMs = opts.recoveryProgressMs ?? 5000
      let nextProgress = wall() + progressMs
      // The marker proves its partition is read to the end; a short quiet spell covers the others.
      while (!(sawMarker && wall() - lastMessageAt >= idleMs)) {
        if (wall() > deadline) {
          throw new TopoflowError('TOPOFLOW_ERR_TIMEOUT', `Graph recovery from ${topics.topologyChanges} did not finish in time (${restored} changes read, marker ${sawMarker ? 'seen' : 'not seen'})`, { retriable: true })
        }
        await sleep(Math.min(50, idleMs))
        if (wall() >= nextProgress) {
          logger.info({ restored, markerSeen: sawMarker, nodes: engine.store.nodeCount, edges: engine.store.edgeCount }, 'Recovering the graph from the changes topic')
          nextProgress = wall() + progressMs
        }
      }
    } finally {
      await sub.close()
    }
    logger.info({ restored, nodes: engine.store.nodeCount, edges: engine.store.edgeCount }, 'Graph recovered from the changes topic')
  }

  return {
    engine,
    ready: () => state === 'running',
    async start () {
      if (state !== 'new') return
      state = 'recovering'
      await recover()
      await publishStep(() => engine.finishRestore(now()))
      if (state !== 'recovering') return
      // Rules live only in the resources topic: read it whole on every start (applying them again is a
      // no-op), then install the fabric over them (see GraphEngine.installFabric).
      const resources = await bus.subscribe({ topics: [topics.resources], group: `graph-builder-resources-${randomUUID()}`, fromBeginning: true, handler: handleInputs })
      subscriptions.push(resources)
      const rulesRead = await Promise.race([resources.caughtUp.then(() => true), sleep(opts.recoveryTimeoutMs ?? 120_000, false, { ref: false })])
      if (!rulesRead) logger.warn('The resources topic is still being read; installing the fabric without every rule')
      await publishStep(() => engine.installFabric(now()))
      if (state !== 'recovering') return
      subscriptions.push(await bus.subscribe({ topics: [...inputTopics], group: opts.group ?? 'graph-builder', fromBeginning: true, handler: handleInputs }))
      const interval = opts.tickIntervalMs ?? 1000
      if (interval > 0) {
        timer = setInterval(() => {
          tick().catch((err: unknown) => {
            metrics.stage.errors.inc({ stage, code: toTopoflowError(err).code })
            logger.error({ err }, 'Periodic graph tick failed; will retry')
          })
        }, interval)
        timer.unref()
      }
      state = 'running'
      logger.info({ nodes: engine.store.nodeCount, edges: engine.store.edgeCount, fabricNodes: fabric.nodes.length }, 'Graph-builder started')
    },
    async close () {
      if (state === 'closed') return
      state = 'closed'
      if (timer !== null) clearInterval(timer)
      for (const sub of subscriptions.splice(0).reverse()) await sub.close()
      try {
        await exclusive(flush)
      } catch (err) {
        logger.error({ err, pending: outbox.length }, 'Changes not flushed at close; the inputs will be replayed')
      }
      await history?.close?.()
      logger.info('Graph-builder closed')
    },
    tick,
    flushed: async () => { await exclusive(flush) }
  }
}

/** Turns one bus message into engine inputs; tombstones on compacted inputs become deletes. */
export function toInputs (message: BusMessage<unknown>): Array<{ input: GraphInput, time: number | undefined }> {
  const v = message.value as Record<string, unknown> | null
  const time = typeof v?.Time === 'number' ? v.Time : message.timestamp
  switch (message.topic) {
    case topics.topologyEvents:
      return v === null ? [] : [{ input: { kind: 'topology', event: v as never }, time }]
    case topics.sockets:
      return v === null ? [] : [{ input: { kind: 'sockets', snapshot: v as never }, time }]
    case topics.captureStatus:
      return v === null ? [] : [{ input: { kind: 'capture', status: v as never }, time }]
    case topics.k8s:
      if (v !== null) return [{ input: { kind: 'k8s', event: v as never }, time }]
      if (message.key === null) return []
      return [{ input: { kind: 'k8s', event: { Kind: 'Deleted', ObjectKind: 'unknown', UID: message.key, Name: '', Time: message.timestamp ?? 0, Object: null } }, time: undefined }]
    case topics.resources: {
      if (v !== null) return [{ input: { kind: 'resource', resource: v as never }, time }]
      if (message.key === null) return []
      const deleted = (type: ResourceType): { input: GraphInput, time: undefined } =>
        ({ input: { kind: 'resource', resource: { ResourceType: type, UUID: message.key as string, Resource: null, Deleted: true, Time: message.timestamp ?? 0 } }, time: undefined })
      return [deleted('noderule'), deleted('edgerule'), deleted('capture')]
    }
    default:
      return []
  }
}
