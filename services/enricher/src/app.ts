import { randomUUID } from 'node:crypto'
import { setTimeout as sleep } from 'node:timers/promises'
import type { Bus, BusMessage, Logger, Registry, Subscription, TopoflowConfig } from '@topoflow/core'
import { topics } from '@topoflow/schemas'
import { enrichFlow, type Lookups } from './enrich.ts'
import { JoinBuffer } from './join-buffer.ts'
import { StickyEnrichment } from './sticky.ts'
import { HostIndex } from './lookups/hosts.ts'
import { K8sIndex } from './lookups/k8s.ts'
import { SocketIndex } from './lookups/sockets.ts'
import { enricherMetrics } from './metrics.ts'
import type { EnrichedFlow, K8sEvent, RawFlow, SocketsSnapshot } from './types.ts'

/** Where enriched flows are stored; `index()` resolves once the store acknowledged every flow. */
export interface FlowIndexer {
  index(flows: EnrichedFlow[]): Promise<void>
}

export interface EnricherDeps {
  config: TopoflowConfig
  bus: Bus
  indexer?: FlowIndexer
  logger: Logger
  registry: Registry
  now?: () => number
  /** Distinguishes instances: each one reads every lookup topic in a consumer group of its own. */
  instanceId?: string
  /** Consumer group sharing the raw flow partitions (default `topoflow-enricher`). */
  group?: string
  /** While the lookup topics are read at start, how far it got is logged this often (ms, default 5000). */
  catchUpProgressMs?: number
}

export interface Enricher {
  start(): Promise<void>
  close(): Promise<void>
  ready(): boolean
  readonly lookups: Lookups
}

export const enricherGroup = 'topoflow-enricher'
/** Longest the enricher waits at start for the lookup topics to be read to their end before it takes flows. */
const lookupCatchUpMs = 60_000

/**
 * The enricher: raw flows in, enriched flows out (to `topoflow.flows.enriched.v1` and the indexer).
 * Flow partitions are shared by the instances of one consumer group; the small lookup topics are read
 * whole by every instance. A batch of flows is acknowledged only after it was published and indexed.
 */
export function buildEnricher (deps: EnricherDeps): Enricher {
  const now = deps.now ?? Date.now
  const logger = deps.logger.child({ component: 'enricher' })
  const metrics = enricherMetrics(deps.registry)
  const lookups: Lookups = { hosts: new HostIndex(), sockets: new SocketIndex(), k8s: new K8sIndex() }
  const buffer = new JoinBuffer({
    maxPending: deps.config.enricher.max_pending,
    waitMs: deps.config.enricher.join_wait * 1000,
    enrich: (flow) => enrichFlow(flow, lookups)
  })
  const sticky = new StickyEnrichment(deps.config.enricher.max_pending)
  const subscriptions: Subscription[] = []
  let ticker: NodeJS.Timeout | undefined
  let started = false
  let lookupMessagesRead = 0

  async function onLookups (batch: Array<BusMessage<unknown>>): Promise<void> {
    lookupMessagesRead += batch.length
    let socketsChanged = false
    const invalid = new Map<string, number>()
    for (const m of batch) {
      if (m.topic === topics.topologyChanges) {
        // Tombstones count here: on the compacted changes topic they delete an element.
        const outcome = lookups.hosts.applyChange(m.key, m.value)
        if (outcome === 'applied') metrics.lookupEvents.inc({ topic: m.topic })
        else if (outcome === 'invalid') invalid.set(m.topic, (invalid.get(m.topic) ?? 0) + 1)
        continue
      }
      if (m.value === null) continue
      metrics.lookupEvents.inc({ topic: m.topic })
      if (m.topic === topics.sockets) socketsChanged = lookups.sockets.apply(m.value as SocketsSnapshot) || socketsChanged
      else if (m.topic === topics.k8s) lookups.k8s.apply(m.value as K8sEvent)
    }
    for (const [topic, count] of invalid) {
      metrics.lookupEventsInvalid.inc({ topic }, count)
      logger.warn({ topic, count }, 'Lookup messages that are not what the topic should hold were skipped')
    }
    if (socketsChanged || buffer.size > 0) buffer.retry()
    metrics.pending.set(buffer.size)
  }

  async function onFlows (batch: Array<BusMessage<unknown>>): Promise<void> {
    const flows = batch.filter((m) => m.value !== null).map((m) => m.value as RawFlow)
    metrics.flowsIn.inc(flows.length)
    let newest = 0
    for (const f of flows) if (f.Last > newest) newest = f.Last
    if (newest > 0) metrics.flowDelay.set(Math.max(0, now() - newest) / 1000)
    const started = now()
    const results = await Promise.all(flows.map((f) => buffer.enrich(f, started)))
    metrics.joinWait.observe((now() - started) / 1000)
    metrics.pending.set(buffer.size)
    const enriched: EnrichedFlow[] = []
    // Counted per batch: a labelled counter update costs more than enriching a flow.
    const hits = { host: 0, process: 0, pod: 0, service: 0 }
    for (const r of results) {
      enriched.push(sticky.apply(r.flow))
      hits.host += r.hits.host
      hits.process += r.hits.process
      hits.pod += r.hits.pod
      hits.service += r.hits.service
    }
    if (enriched.length === 0) return
    for (const field of ['host', 'process', 'pod', 'service'] as const) {
      metrics.lookups.inc({ field }, 2 * enriched.length)
      metrics.hits.inc({ field }, hits[field])
    }
    // Publish, then index: the batch's offsets are committed only once both resolved.
    await deps.bus.publish(topics.flowsEnriched, enriched.map((f) => ({ key: f.UUID, value: f })))
    await deps.indexer?.index(enriched)
    metrics.flowsOut.inc(enriched.length)
  }

  return {
    lookups,
    ready: () => started,
    async start () {
      if (started) return
      const instance = deps.instanceId ?? randomUUID()
      const lookupsSub = await deps.bus.subscribe({
        // The materialized graph, not the raw topology events: a restart reads the live graph's size,
        // not days of events.
        topics: [topics.topologyChanges, topics.sockets, topics.k8s],
        group: `${deps.group ?? enricherGroup}-lookups-${instance}`,
        fromBeginning: true,
        handler: onLookups
      })
      subscriptions.push(lookupsSub)
      // Flows joined against half-read lookups would go out without their processes: read them to
      // their end first (bounded: a lookup topic that cannot be read must not stall flows forever).
      const t0 = now()
      const progress = setInterval(() => {
        logger.info({ ms: now() - t0, messages: lookupMessagesRead, hosts: lookups.hosts.hostCount, addresses: lookups.hosts.addressCount }, 'Reading the lookup topics')
      }, deps.catchUpProgressMs ?? 5000)
      const caughtUp = await Promise.race([lookupsSub.caughtUp.then(() => true), sleep(lookupCatchUpMs, false, { ref: false })])
        .finally(() => { clearInterval(progress) })
      if (caughtUp) logger.info({ ms: now() - t0, messages: lookupMessagesRead }, 'Lookup topics read to their end')
      else logger.warn({ ms: lookupCatchUpMs }, 'Lookup topics still being read; enriching flows with what is known so far')
      // From the beginning for a group without offsets: flows published before the very first start count too.
      subscriptions.push(await deps.bus.subscribe({ topics: [topics.flowsRaw], group: deps.group ?? enricherGroup, fromBeginning: true, handler: onFlows, maxBatch: 1000 }))
      ticker = setInterval(() => { buffer.tick(now()); metrics.pending.set(buffer.size) }, 250)
      ticker.unref()
      started = true
      logger.info({ instance }, 'Enricher started')
    },
    async close () {
      if (ticker !== undefined) clearInterval(ticker)
      buffer.flush()
      for (const s of subscriptions.splice(0).reverse()) await s.close()
      started = false
    }
  }
}
