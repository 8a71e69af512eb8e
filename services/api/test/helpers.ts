import type { TestContext } from 'node:test'
import { createRegistry, InProcessBus, loadConfig, silentLogger, type TopoflowConfig } from '@topoflow/core'
import { MemoryFlowSource, MemoryGraph, type GraphEdge, type GraphNode } from '@topoflow/gremlin'
import { topics } from '@topoflow/schemas'
import { buildApp, type ApiApp, type BuildAppOptions } from '../src/app.ts'
import type { TopologyChange } from '../src/graph/live-graph.ts'

export const compacted = [topics.topologyChanges, topics.resources, topics.captureStatus]

export interface TestApi {
  app: ApiApp
  bus: InProcessBus
  graph: MemoryGraph
  flows: MemoryFlowSource
  config: TopoflowConfig
}

export const users = { admin: 'secret', ops: 'p@ss:word' }

/** A ready app over an in-process bus and an in-memory graph; closed after the test. */
export async function makeApi (t: TestContext, opts: { auth?: boolean, overrides?: Record<string, unknown>, build?: Partial<BuildAppOptions>, bus?: InProcessBus } = {}): Promise<TestApi> {
  const overrides: Record<string, unknown> = { host_id: 'analyzer-1', ...opts.overrides }
  if (opts.auth === true) {
    overrides['analyzer.auth.api.backend'] = 'mybasic'
    overrides.auth = { mybasic: { type: 'basic', users } }
  }
  const config = loadConfig({ overrides })
  const bus = opts.bus ?? new InProcessBus({ compactedTopics: compacted })
  const graph = new MemoryGraph()
  const flows = new MemoryFlowSource()
  const app = await buildApp({
    config,
    bus,
    graph,
    flows,
    logger: silentLogger(),
    registry: createRegistry('api-test', { processMetrics: false }),
    limits: { alertDebounceMs: 20 },
    ...opts.build
  })
  await app.ready()
  t.after(async () => { await app.close() })
  return { app, bus, graph, flows, config }
}

/** Polls `check` until it returns something truthy (no fixed sleeps). */
export async function waitFor<T> (check: () => T | Promise<T>, { timeout = 5000, interval = 10, what = 'condition' } = {}): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeout
  for (;;) {
    const v = await check()
    if (v !== undefined && v !== null && v !== false) return v as NonNullable<T>
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, interval))
  }
}

let clock = 1_700_000_000_000

export function node (id: string, metadata: Record<string, unknown>, extra: Partial<GraphNode> = {}): GraphNode {
  const t = clock++
  return { ID: id, Metadata: metadata, Host: extra.Host ?? 'node-a', Origin: 'capture.node-a', CreatedAt: t, UpdatedAt: t, Revision: 1, ...extra }
}

export function edge (id: string, parent: string, child: string, relation = 'ownership', extra: Partial<GraphEdge> = {}): GraphEdge {
  const t = clock++
  return { ID: id, Metadata: { RelationType: relation }, Host: 'node-a', Origin: 'capture.node-a', CreatedAt: t, UpdatedAt: t, Revision: 1, Parent: parent, Child: child, ...extra }
}

/** Publishes graph-builder changes and waits until the API's replica has them. */
export async function publishGraph (api: TestApi, nodes: GraphNode[], edges: GraphEdge[] = []): Promise<void> {
  const changes: Array<{ key: string, value: TopologyChange }> = [
    ...nodes.map((n) => ({ key: n.ID, value: { ElementType: 'node' as const, Op: 'upsert' as const, Node: n, Time: n.UpdatedAt } })),
    ...edges.map((e) => ({ key: e.ID, value: { ElementType: 'edge' as const, Op: 'upsert' as const, Edge: e, Time: e.UpdatedAt } }))
  ]
  await api.bus.publish(topics.topologyChanges, changes)
  const latest = new Map<string, number>()
  for (const n of nodes) latest.set(n.ID, Math.max(latest.get(n.ID) ?? 0, n.Revision))
  await waitFor(() => [...latest].every(([id, rev]) => api.graph.getNode(id)?.Revision === rev) && edges.every((e) => api.graph.getEdge(e.ID) !== undefined), { what: 'graph replica' })
}

/**
 * Two hosts with socket tables: node-b runs sshd (22) and nginx (80); node-a's ssh and curl connect
 * to them; a loopback redis client/server on node-a; a DNS client to a UDP server on node-b.
 */
export function fixtureGraph (): { nodes: GraphNode[], edges: GraphEdge[] } {
  const sock = (s: Record<string, unknown>): Record<string, unknown> => ({ Pid: 100, ...s })
  const hostA = node('host-a', {
    Name: 'node-a',
    Type: 'host',
    Sockets: [
      sock({ Process: '/usr/bin/ssh', Name: 'ssh', LocalAddress: '10.0.0.1', LocalPort: 51000, RemoteAddress: '10.0.0.2', RemotePort: 22, Protocol: 'TCP', State: 'ESTABLISHED' }),
      sock({ Process: '/usr/bin/curl', Name: 'curl', LocalAddress: '10.0.0.1', LocalPort: 51001, RemoteAddress: '10.0.0.2', RemotePort: 80, Protocol: 'TCP', State: 'ESTABLISHED' }),
      sock({ Process: '/usr/bin/redis-server', Name: 'redis-server', LocalAddress: '127.0.0.1', LocalPort: 6379, RemoteAddress: '0.0.0.0', RemotePort: 0, Protocol: 'TCP', State: 'LISTEN' }),
      sock({ Process: '/usr/bin/redis-server', Name: 'redis-server', LocalAddress: '127.0.0.1', LocalPort: 6379, RemoteAddress: '127.0.0.1', RemotePort: 40000, Protocol: 'TCP', State: 'ESTABLISHED' }),
      sock({ Process: '/usr/bin/redis-cli', Name: 'redis-cli', LocalAddress: '127.0.0.1', LocalPort: 40000, RemoteAddress: '127.0.0.1', RemotePort: 6379, Protocol: 'TCP', State: 'ESTABLISHED' }),
      sock({ Process: '/usr/bin/dig', Name: 'dig', LocalAddress: '10.0.0.1', LocalPort: 53000, RemoteAddress: '10.0.0.2', RemotePort: 53, Protocol: 'UDP', State: 'ESTABLISHED' })
    ]
  }, { Host: 'node-a' })
  const hostB = node('host-b', {
    Name: 'node-b',
    Type: 'host',
    Sockets: [
      sock({ Process: '/usr/sbin/sshd', Name: 'sshd', LocalAddress: '0.0.0.0', LocalPort: 22, RemoteAddress: '0.0.0.0', RemotePort: 0, Protocol: 'TCP', State: 'LISTEN' }),
      sock({ Process: '/usr/sbin/sshd', Name: 'sshd', LocalAddress: '10.0.0.2', LocalPort: 22, RemoteAddress: '10.0.0.1', RemotePort: 51000, Protocol: 'TCP', State: 'ESTABLISHED' }),
      sock({ Process: '/usr/sbin/nginx', Name: 'nginx', LocalAddress: '0.0.0.0', LocalPort: 80, RemoteAddress: '0.0.0.0', RemotePort: 0, Protocol: 'TCP', State: 'LISTEN' }),
      sock({ Process: '/usr/sbin/nginx', Name: 'nginx', LocalAddress: '10.0.0.2', LocalPort: 80, RemoteAddress: '10.0.0.1', RemotePort: 51001, Protocol: 'TCP', State: 'ESTABLISHED' }),
      sock({ Process: '/usr/sbin/unbound', Name: 'unbound', LocalAddress: '0.0.0.0', LocalPort: 53, RemoteAddress: '0.0.0.0', RemotePort: 0, Protocol: 'UDP', State: 'CLOSE' })
    ]
  }, { Host: 'node-b' })
  const ethA = node('eth-a', { Name: 'eth0', Type: 'device', IfIndex: 2, State: 'UP', MAC: '02:00:00:00:00:01', IPV4: ['10.0.0.1/24'] }, { Host: 'node-a' })
  const ethB = node('eth-b', { Name: 'eth0', Type: 'device', IfIndex: 2, State: 'UP', MAC: '02:00:00:00:00:02', IPV4: ['10.0.0.2/24'] }, { Host: 'node-b' })
  const loA = node('lo-a', { Name: 'lo', Type: 'device', IfIndex: 1, State: 'UP', IPV4: ['127.0.0.1/8'] }, { Host: 'node-a' })
  return {
    nodes: [hostA, hostB, ethA, ethB, loA],
    edges: [
      edge('e-host-a-eth', 'host-a', 'eth-a'),
      edge('e-host-a-lo', 'host-a', 'lo-a'),
      edge('e-host-b-eth', 'host-b', 'eth-b', 'ownership', { Host: 'node-b' }),
      edge('e-wire', 'eth-a', 'eth-b', 'layer2')
    ]
  }
}
