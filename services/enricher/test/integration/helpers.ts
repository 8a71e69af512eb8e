import { randomUUID } from 'node:crypto'
import { createServer, connect, type Server, type Socket } from 'node:net'
import type { TestContext } from 'node:test'
import { Client } from '@opensearch-project/opensearch'
import kafkajs from 'kafkajs'
import { silentLogger } from '@topoflow/core'
import { KafkaBus } from '@topoflow/kafka'
import { ensureTemplates, indexNames, type IndexNames } from '@topoflow/opensearch'
import { readFixture, topicTable, topics, type Flow } from '@topoflow/schemas'
import type { Infra } from '@topoflow/testing'

export const T0 = Date.UTC(2024, 0, 15, 12)
/** One update window a minute, as a capture agent with `flow.update: 60` sends them. */
export const windowMs = 60_000

/**
 * `flows` TCP flows with `updates` updates each, in the order an agent publishes them (round after
 * round). Update u of a flow covers window [T0 + u min, T0 + (u+1) min): one flowmetrics document each.
 */
export function flowUpdates (flows: number, updates: number, tag = randomUUID().slice(0, 8)): Flow[] {
  const template = readFixture(topics.flowsRaw) as Flow
  const out: Flow[] = []
  for (let u = 0; u < updates; u++) {
    for (let f = 0; f < flows; f++) {
      const start = T0 + f
      const windowStart = T0 + u * windowMs
      const window = { ABPackets: 10, ABBytes: 1000, BAPackets: 5, BABytes: 500 }
      out.push({
        ...template,
        UUID: `${tag}-${f}`,
        LayersPath: 'Ethernet/IPv4/TCP',
        Application: 'TCP',
        ICMP: null,
        Network: { Protocol: 'IPV4', A: `10.77.${f >> 8}.${f & 255}`, B: '10.78.0.1', ID: 0 },
        Transport: { Protocol: 'TCP', A: 40000 + (f % 20000), B: 80, ID: 0 },
        Start: start,
        Last: windowStart + windowMs - 1,
        LastUpdateMetric: { ...window, Start: windowStart, Last: windowStart + windowMs - 1, RTT: 0 },
        Metric: {
          ABPackets: 10 * (u + 1), ABBytes: 1000 * (u + 1), BAPackets: 5 * (u + 1), BABytes: 500 * (u + 1),
          Start: start, Last: windowStart + windowMs - 1, RTT: 0
        },
        TCPMetric: null,
        FinishType: u === updates - 1 ? 2 : 0,
        CommunityID: null
      })
    }
  }
  return out
}

/** The `_id` of the flowmetrics document of one update (what flowBulkDocs gives it). */
export function metricId (flow: Flow): string {
  return `${flow.UUID}:${String(flow.LastUpdateMetric?.Start)}`
}

export async function countDocs (client: Client, index: string): Promise<number> {
  await client.indices.refresh({ index, ignore_unavailable: true, allow_no_indices: true })
  const res = await client.count({ index, ignore_unavailable: true, allow_no_indices: true })
  return (res.body as { count: number }).count
}

/** Every `_id` in the indices of `pattern` (scrolls; for a few thousand documents). */
export async function allIds (client: Client, pattern: string): Promise<string[]> {
  await client.indices.refresh({ index: pattern, ignore_unavailable: true, allow_no_indices: true })
  const ids: string[] = []
  let res = await client.search({ index: pattern, scroll: '30s', body: { size: 1000, _source: false, query: { match_all: {} } } })
  for (;;) {
    const body = res.body as { _scroll_id?: string, hits: { hits: Array<{ _id: string }> } }
    if (body.hits.hits.length === 0) {
      if (body._scroll_id !== undefined) await client.clearScroll({ body: { scroll_id: body._scroll_id } }).catch(() => {})
      return ids
    }
    ids.push(...body.hits.hits.map((h) => h._id))
    res = await client.scroll({ body: { scroll_id: body._scroll_id, scroll: '30s' } })
  }
}

/**
 * A TCP forwarder in front of a server, that a test can cut (listener closed, every connection
 * destroyed, new ones refused) and restore on the same port: OpenSearch going away and coming back.
 */
export class CuttableProxy {
  readonly #target: { host: string, port: number }
  readonly #sockets = new Set<Socket>()
  #server: Server | null = null
  #port = 0
  connections = 0

  constructor (target: URL) {
    this.#target = { host: target.hostname, port: Number(target.port === '' ? 80 : target.port) }
  }

  get url (): string { return `http://127.0.0.1:${this.#port}` }

  async open (): Promise<void> {
    const server = createServer((client) => {
      this.connections++
      const upstream = connect(this.#target)
      for (const s of [client, upstream]) {
        this.#sockets.add(s)
        s.on('close', () => this.#sockets.delete(s))
        s.on('error', () => { client.destroy(); upstream.destroy() })
      }
      client.pipe(upstream).pipe(client)
    })
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject)
      server.listen(this.#port, '127.0.0.1', () => resolve())
    })
    const address = server.address()
    if (address !== null && typeof address === 'object') this.#port = address.port
    this.#server = server
  }

  /** Refuses everything from now on; connections in the middle of a request break. */
  async cut (): Promise<void> {
    const server = this.#server
    this.#server = null
    for (const s of this.#sockets) s.destroy()
    this.#sockets.clear()
    if (server !== null) await new Promise<void>((resolve) => server.close(() => resolve()))
  }

  async restore (): Promise<void> { await this.open() }

  async close (): Promise<void> { await this.cut() }
}

/** Where a test's topics, indices and groups live: all under one fresh prefix, removed afterwards. */
export interface Sandbox {
  prefix: string
  topicPrefix: string
  group: string
  client: Client
  bus: KafkaBus
  names: IndexNames
}

export async function sandbox (t: TestContext, infra: Infra, kind: string): Promise<Sandbox> {
  const prefix = `test-${kind}-${randomUUID().slice(0, 8)}`
  const client = new Client({ node: infra.opensearchUrl })
  await ensureTemplates(client, { prefix, replicas: 0 })
  const topicPrefix = `${prefix}.`
  const bus = new KafkaBus({ brokers: infra.kafkaBrokers, clientId: prefix, topicPrefix, logger: silentLogger() })
  await bus.start()
  t.after(async () => {
    await bus.close()
    await client.indices.delete({ index: `${prefix}-*`, ignore_unavailable: true, allow_no_indices: true }).catch(() => {})
    await client.indices.deleteIndexTemplate({ name: `${prefix}-*` }).catch(() => {})
    await client.close()
  })
  await bus.ensureTopics(topicTable, { replicationFactor: 1 })
  return { prefix, topicPrefix, group: `${prefix}-enricher`, client, bus, names: indexNames(prefix) }
}

/** Publishes raw flow updates keyed by flow UUID (one flow's updates stay in order on one partition). */
export async function publishFlows (bus: KafkaBus, flows: Flow[]): Promise<void> {
  await bus.publish(topics.flowsRaw, flows.map((f) => ({ key: f.UUID, value: f })))
}

/** How far a consumer group committed on a topic, and where the topic ends, summed over partitions. */
export async function groupProgress (brokers: string[], group: string, topic: string): Promise<{ committed: number, end: number }> {
  const admin = new kafkajs.Kafka({ brokers, clientId: 'progress', logLevel: kafkajs.logLevel.NOTHING }).admin()
  await admin.connect()
  try {
    const [ends, committed] = await Promise.all([admin.fetchTopicOffsets(topic), admin.fetchOffsets({ groupId: group, topics: [topic] })])
    const end = ends.reduce((sum, p) => sum + Number(p.high), 0)
    const done = committed.flatMap((c) => c.partitions).reduce((sum, p) => sum + Math.max(0, Number(p.offset)), 0)
    return { committed: done, end }
  } finally {
    await admin.disconnect()
  }
}
