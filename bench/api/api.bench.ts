import { Worker } from 'node:worker_threads'
import { buildApp, type ApiApp } from '@topoflow/api'
import { createRegistry, InProcessBus, loadConfig, silentLogger } from '@topoflow/core'
import { MemoryFlowSource, MemoryGraph, runGremlin } from '@topoflow/gremlin'
// seeded, so that every run benchmarks the same graph and the same start nodes
import { seededRandom as prng } from '@topoflow/testing/seeded-random'
import { topics } from '@topoflow/schemas'
import Fastify from 'fastify'
import type { Comparison } from '../src/report.ts'
import type { LoadJob, LoadResult } from './load-worker.ts'

const nodeCount = 10_000
const edgeCount = 50_000
const hostCount = 100
const hostQuery = "G.V().Has('Type','host')"

/**
 * 10,000 nodes (100 hosts owning 99 interfaces each) and 50,000 edges: the 9,900 ownership edges
 * plus random layer2 links between interfaces, so a host has about 100 children and an interface
 * about 4 layer2 peers each way.
 */
export function benchGraph (): MemoryGraph {
  const random = prng(42)
  const graph = new MemoryGraph({ historyWindowMs: 0 })
  const types = ['device', 'veth', 'bridge', 'vlan', 'bond']
  const t0 = 1_700_000_000_000
  for (let i = 0; i < nodeCount; i++) {
    const host = i < hostCount
    const hostOf = host ? i : i % hostCount
    graph.addNode({
      ID: `n${i}`,
      Host: `host${hostOf}`,
      Origin: `agent.host${hostOf}`,
      CreatedAt: t0 + i,
      Metadata: host
        ? { Name: `host${i}`, Type: 'host', OS: 'linux', Platform: 'debian', KernelVersion: '6.1.0' }
        : { Name: `eth${i}`, Type: types[i % types.length], MTU: 1500, IfIndex: i % 4096, State: 'UP', MAC: `02:00:00:${(i >> 16) & 255}:${(i >> 8) & 255}:${i & 255}`, IPV4: [`10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}/16`] }
    })
  }
  let edges = 0
  for (let i = hostCount; i < nodeCount; i++) {
    graph.addEdge({ ID: `own${i}`, Parent: `n${i % hostCount}`, Child: `n${i}`, Host: `host${i % hostCount}`, CreatedAt: t0 + nodeCount + i, Metadata: { RelationType: 'ownership' } })
    edges++
  }
  const interfaces = nodeCount - hostCount
  while (edges < edgeCount) {
    const a = hostCount + Math.floor(random() * interfaces)
    const b = hostCount + Math.floor(random() * interfaces)
    if (a === b) continue
    graph.addEdge({ ID: `l2-${edges}`, Parent: `n${a}`, Child: `n${b}`, Host: `host${a % hostCount}`, CreatedAt: t0 + 2 * nodeCount + edges, Metadata: { RelationType: 'layer2' } })
    edges++
  }
  return graph
}

async function load (job: LoadJob): Promise<LoadResult> {
  // the worker is TypeScript too; Node 20 workers do not get tsx from --import, so it registers first
  const code = `import { register } from ${JSON.stringify(import.meta.resolve('tsx/esm/api'))}\nregister()\nawait import(${JSON.stringify(new URL('./load-worker.ts', import.meta.url).href)})`
  const worker = new Worker(new URL(`data:text/javascript,${encodeURIComponent(code)}`), { workerData: job })
  try {
    return await new Promise<LoadResult>((resolve, reject) => {
      worker.once('message', resolve)
      worker.once('error', reject)
      worker.once('exit', (code) => reject(new Error(`the load worker exited with ${code} before answering`)))
    })
  } finally {
    await worker.terminate()
  }
}

/** Rounds of the same load added up. */
function merged (rounds: LoadResult[]): LoadResult {
  return {
    ok: rounds.reduce((n, r) => n + r.ok, 0),
    failed: rounds.reduce((n, r) => n + r.failed, 0),
    seconds: rounds.reduce((n, r) => n + r.seconds, 0),
    bytes: rounds.reduce((n, r) => n + r.bytes, 0),
    latencies: rounds.flatMap((r) => r.latencies)
  }
}

function percentile (values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? NaN
}

function checked (r: LoadResult, what: string): LoadResult {
  if (r.failed > 0 || r.ok === 0) throw new Error(`${what}: ${r.failed} of ${r.ok + r.failed} requests failed (${r.firstError ?? 'no answer'})`)
  return r
}

async function listen (app: { listen: (o: { host: string, port: number }) => Promise<string>, server: { address: () => unknown } }): Promise<string> {
  await app.listen({ host: '127.0.0.1', port: 0 })
  const addr = app.server.address() as { port: number }
  return `http://127.0.0.1:${addr.port}/api/topology`
}

/** Runs each query once, one after another on one connection: latency without queueing. */
async function latencies (url: string, queries: string[]): Promise<number[]> {
  const bodies = queries.map((q) => JSON.stringify({ GremlinQuery: q }))
  return checked(await load({ url, bodies, connections: 1, durationMs: 0 }), queries[0] ?? '').latencies
}

/**
 * The API on a 10k-node, 50k-edge graph: p99 latency of 3-hop traversals through HTTP (against the
 * same queries on the engine alone), and requests/s of `G.V().Has('Type','host')` against a bare
 * fastify route that answers the same bytes (a prebuilt string: the cheapest any route can be), both
 * served from this thread and loaded from a worker with the same client and 8 connections.
 */
export async function apiBenchmarks (): Promise<Comparison[]> {
  const graph = benchGraph()
  const app: ApiApp = await buildApp({
    config: loadConfig({ overrides: { host_id: 'bench', logging: { level: 'silent' } } }),
    bus: new InProcessBus({ compactedTopics: [topics.topologyChanges, topics.resources, topics.captureStatus] }),
    graph,
    flows: new MemoryFlowSource(),
    logger: silentLogger(),
    registry: createRegistry('bench-api', { processMetrics: false })
  })
  const bare = Fastify({ logger: false })
  try {
    const apiUrl = await listen(app)
    const hosts = await app.inject({ method: 'POST', url: '/api/topology', payload: { GremlinQuery: hostQuery } })
    const hostBody = hosts.body
    if (hosts.statusCode !== 200 || (JSON.parse(hostBody) as unknown[]).length !== hostCount) throw new Error(`${hostQuery} answered ${hosts.statusCode}: ${hostBody.slice(0, 200)}`)
    bare.post('/api/topology', async (_req, reply) => await reply.type('application/json; charset=UTF-8').send(hostBody))
    const bareUrl = await listen(bare)

    // 3 hops from 300 random start nodes (hosts among them, with ~100 children each)
    const random = prng(7)
    const starts = Array.from({ length: 300 }, () => `n${Math.floor(random() * nodeCount)}`)
    const rows: Comparison[] = []
    for (const [name, shape] of [['Out().Out().Out()', (id: string) => `G.V('${id}').Out().Out().Out()`], ['Both()x3.Dedup().Count()', (id: string) => `G.V('${id}').Both().Both().Both().Dedup().Count()`]] as const) {
      const queries = starts.map(shape)
      await latencies(apiUrl, queries.slice(0, 30)) // warm-up
      const viaApi = await latencies(apiUrl, queries)
      const engine: number[] = []
      for (const q of queries) {
        const t0 = performance.now()
        await runGremlin(q, { graph, now: Date.now })
        engine.push(performance.now() - t0)
      }
      const p99 = percentile(viaApi, 99)
      rows.push({
        scenario: `3-hop ${name}, 10k nodes / 50k edges`,
        ours: 'API over HTTP (p99)',
        reference: 'engine alone (p99)',
        unit: 'ms',
        oursRate: p99,
        referenceRate: percentile(engine, 99),
        note: `lower is better; API p50 ${percentile(viaApi, 50).toFixed(1)} ms; goal p99 < 50 ms ${p99 < 50 ? 'met' : 'MISSED'}`
      })
    }

    // requests/s: the goal's query, then a lookup by ID, which shows the cost of the API layer alone
    const byId = "G.V('n4242')"
    const byIdBody = (await app.inject({ method: 'POST', url: '/api/topology', payload: { GremlinQuery: byId } })).body
    const bareById = Fastify({ logger: false })
    bareById.post('/api/topology', async (_req, reply) => await reply.type('application/json; charset=UTF-8').send(byIdBody))
    const bareByIdUrl = await listen(bareById)
    const job = (url: string, query: string, durationMs: number): LoadJob => ({ url, bodies: [JSON.stringify({ GremlinQuery: query })], connections: 8, durationMs })
    try {
      for (const [query, body, bareRoute, goal] of [[hostQuery, hostBody, bareUrl, true], [byId, byIdBody, bareByIdUrl, false]] as const) {
        const bodyLength = Buffer.byteLength(body)
        checked(await load(job(apiUrl, query, 1000)), 'API warm-up')
        checked(await load(job(bareRoute, query, 1000)), 'bare warm-up')
        // 5 s each, in alternating rounds, so that a busy neighbour on this shared machine weighs on both alike
        const apiRounds: LoadResult[] = []
        const bareRounds: LoadResult[] = []
        for (let round = 0; round < 4; round++) {
          apiRounds.push(checked(await load(job(apiUrl, query, 1250)), query))
          bareRounds.push(checked(await load(job(bareRoute, query, 1250)), 'bare fastify'))
        }
        const api = merged(apiRounds)
        const reference = merged(bareRounds)
        // the comparison only holds if both answered the very same body, every time
        for (const [what, r] of [['API', api], ['bare fastify', reference]] as const) {
          if (r.bytes !== r.ok * bodyLength) throw new Error(`${what} answered ${r.bytes} bytes in ${r.ok} answers, not ${bodyLength} each`)
        }
        const apiRate = api.ok / api.seconds
        const bareRate = reference.ok / reference.seconds
        const verdict = goal ? `goal >= 0.20x ${apiRate / bareRate >= 0.2 ? 'met' : 'MISSED'}; ` : ''
        rows.push({
          scenario: `${query} on 10k nodes (${(bodyLength / 1024).toFixed(1)} kB answer)`,
          ours: 'API, 8 connections',
          reference: 'bare fastify route, same body',
          unit: 'req/s',
          oursRate: apiRate,
          referenceRate: bareRate,
          note: `${verdict}API p99 ${percentile(api.latencies, 99).toFixed(1)} ms`
        })
      }
    } finally {
      await bareById.close()
    }
    return rows
  } finally {
    await bare.close()
    await app.close()
  }
}
