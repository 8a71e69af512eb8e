import { Gauge, type Bus, type Component, type Logger, type Registry, type Subscription, type TopoflowConfig } from '@topoflow/core'
import { topics, type Resource } from '@topoflow/schemas'
import { randomUUID } from 'node:crypto'
import { CaptureManager, runtimeConfig } from './capture/index.ts'
import { resolveCaptureTargets } from './capture-targets.ts'
import { namespaceDirs, TopologyAgent, type SocketsEvent, type TopologyEvent } from './topology/index.ts'

export interface CaptureAgentDeps {
  config: TopoflowConfig
  bus: Bus
  logger: Logger
  registry: Registry
  now?: () => number
}

export interface CaptureAgent {
  readonly components: Component[]
  readonly topology: TopologyAgent
  readonly captures: CaptureManager
  ready(): boolean
}

/** Topology events go out keyed by host, so one host's events stay in order on one partition. */
export function topologyMessage (event: TopologyEvent): { key: string, value: TopologyEvent } {
  return { key: event.Host, value: event }
}

/** The agent does not tell which namespace a socket lives in yet; 0 says "unknown" in the schema's terms. */
export function socketsMessage (event: SocketsEvent): { key: string, value: unknown } {
  return { key: event.Host, value: { ...event, Sockets: event.Sockets.map((s) => ({ NetnsInode: 0, NetnsName: null, ...s })) } }
}

/**
 * The capture agent of one host: its topology and socket tables on the bus, the captures the
 * resources topic asks for on its interfaces (flows and capture status on the bus), and the
 * agent's own counters on /metrics.
 */
export function buildCaptureAgent (deps: CaptureAgentDeps): CaptureAgent {
  const { config, bus } = deps
  const logger = deps.logger.child({ component: 'capture' })
  const now = deps.now ?? Date.now
  // Set below; the topology agent reports changes before the manager exists only at start-up.
  let captures: CaptureManager | undefined
  const topology = new TopologyAgent({
    hostId: config.host_id,
    logger,
    metadata: config.agent.metadata,
    netnsDirs: namespaceDirs(config.netns.run_path),
    publish: async (event) => {
      await bus.publish(topics.topologyEvents, [topologyMessage(event)])
      captures?.graphChanged() // an interface that appears may be one a capture waits for
    },
    publishSockets: async (event) => { await bus.publish(topics.sockets, [socketsMessage(event)]) },
    intervals: {
      resync: config.agent.topology.resync * 1000,
      sockets: config.agent.topology.socketinfo.host_update * 1000,
      socketsOnConnect: config.agent.topology.socketinfo.on_connect_min_interval * 1000
    },
    ...(deps.now === undefined ? {} : { now: deps.now })
  })
  const stats = new Gauge({
    name: 'topoflow_capture_topology',
    help: 'Topology agent counters: namespaces and interfaces seen, events published, resyncs, socket scans run for new connections, errors',
    labelNames: ['counter'],
    registers: [deps.registry],
    collect () {
      for (const [counter, value] of Object.entries(topology.stats())) if (typeof value === 'number') this.set({ counter }, value)
    }
  })
  void stats
  const manager = new CaptureManager({
    bus,
    host: config.host_id,
    logger,
    config: runtimeConfig(config),
    resolve: async (query) => await resolveCaptureTargets(topology.graph(), query, now),
    // A connection shorter than the socket interval would otherwise never be seen with its process.
    onConnectionOpened: () => { topology.requestSocketScan() }
  })
  captures = manager
  let resources: Subscription | undefined
  let started = false
  return {
    topology,
    captures: manager,
    components: [
      { start: async () => { await topology.start() }, close: async () => { await topology.close() } },
      {
        start: async () => {
          manager.start()
          // Every agent needs the whole compacted resources topic, hence a group of its own per run.
          resources = await bus.subscribe<Resource>({ topics: [topics.resources], group: `topoflow-capture-${config.host_id}-${randomUUID()}`, fromBeginning: true, handler: async (batch) => { await manager.handleResources(batch) } })
          started = true
        },
        close: async () => { await resources?.close(); await manager.close() }
      }
    ],
    ready: () => started
  }
}
