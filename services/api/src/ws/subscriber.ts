import { elementJson, type GraphEdge, type GraphNode } from '@topoflow/gremlin'
import type { WebSocket } from 'ws'
import type { GraphEvent, LiveGraph } from '../graph/live-graph.ts'
import { asGraphResult } from '../graph/query.ts'
import type { Logger } from '@topoflow/core'
import { sendJson, type WsClient } from './hub.ts'
import { message, parseMessage, reply, type WsMessage } from './messages.ts'

export type UpdatePolicy = 'full' | 'partial'

interface SubGraph { nodes: Map<string, GraphNode>, edges: Map<string, GraphEdge> }

/** `G…` with a time: `G.At(<ms>)…`, so a filter can be answered for a past time. */
export function atTime (filter: string, time: number): string {
  const base = filter.trim() === '' ? 'G' : filter.trim()
  if (!/^g(\s*\.|$)/i.test(base)) return base
  return `G.At(${Math.trunc(time)})${base.slice(1)}`
}

function graphJson (nodes: Iterable<GraphNode>, edges: Iterable<GraphEdge>): { Nodes: unknown[], Edges: unknown[] } {
  return { Nodes: [...nodes].map(elementJson), Edges: [...edges].map(elementJson) }
}

/**
 * One `/ws/subscriber` client: gets every graph event (Skydive's Graph namespace), or with a Gremlin
 * filter the differences of the filtered subgraph, and answers SyncRequest with the graph (filtered,
 * and at a past `Time` when asked).
 */
export class Subscriber implements WsClient {
  readonly hostId: string
  readonly clientType: string
  readonly addr: string
  readonly port: number
  readonly connectedAt: number
  readonly socket: WebSocket
  readonly #live: LiveGraph
  readonly #query: (q: string) => Promise<unknown>
  readonly #logger: Logger
  readonly #policy: UpdatePolicy
  #filter = ''
  #last: SubGraph | undefined
  #pending: GraphEvent[] = []
  #flushTimer: NodeJS.Timeout | undefined
  #chain: Promise<void> = Promise.resolve()

  constructor (opts: {
    socket: WebSocket, hostId: string, clientType: string, addr: string, port: number, now: number,
    live: LiveGraph, query: (q: string) => Promise<unknown>, logger: Logger, policy: UpdatePolicy
  }) {
    this.socket = opts.socket
    this.hostId = opts.hostId
    this.clientType = opts.clientType
    this.addr = opts.addr
    this.port = opts.port
    this.connectedAt = opts.now
    this.#live = opts.live
    this.#query = opts.query
    this.#logger = opts.logger
    this.#policy = opts.policy
  }

  send (msg: unknown): void {
    sendJson(this.socket, msg)
  }

  /** Sets the initial filter (X-Gremlin-Filter); rejects when it does not give a graph. */
  async setFilter (filter: string): Promise<void> {
    this.#filter = filter
    await new Promise<void>((resolve, reject) => {
      this.#enqueue(async () => {
        try {
          this.#last = filter === '' ? undefined : await this.#subgraph(filter)
          resolve()
        } catch (err) {
          reject(err)
        }
      })
    })
  }

  async #subgraph (query: string): Promise<SubGraph> {
    const result = asGraphResult(await this.#query(query))
    if (result === undefined) throw new Error(`Gremlin query '${query}' did not return a graph`)
    return { nodes: new Map(result.Nodes.map((n) => [n.ID, n])), edges: new Map(result.Edges.map((e) => [e.ID, e])) }
  }

  /** Serializes work per client so replies and events keep their order. */
  #enqueue (work: () => Promise<void>): void {
    this.#chain = this.#chain.then(work).catch((err: unknown) => this.#logger.warn({ err, hostId: this.hostId }, 'Subscriber work failed'))
  }

  onMessage (data: unknown): void {
    const msg = parseMessage(data)
    if (msg === undefined) {
      this.send(message('Graph', 'Error', 'expected a JSON message {"Namespace", "Type", "Obj"}', 400))
      return
    }
    if (msg.Namespace !== 'Graph' || msg.Type !== 'SyncRequest') return
    this.#enqueue(async () => await this.#syncRequest(msg))
  }

  async #syncRequest (msg: WsMessage): Promise<void> {
    const obj = (typeof msg.Obj === 'object' && msg.Obj !== null ? msg.Obj : {}) as { Time?: unknown, GremlinFilter?: unknown }
    const time = typeof obj.Time === 'number' && obj.Time > 0 ? obj.Time : undefined
    try {
      if (obj.GremlinFilter === '') {
        this.#filter = ''
        this.#last = undefined
      } else if (typeof obj.GremlinFilter === 'string') {
        const graph = await this.#subgraph(obj.GremlinFilter)
        this.#filter = obj.GremlinFilter
        this.#last = graph
      } else if (obj.GremlinFilter !== undefined && obj.GremlinFilter !== null) {
        throw new Error('GremlinFilter must be a string')
      }
      let result: { Nodes: unknown[], Edges: unknown[] }
      if (time !== undefined) {
        const g = await this.#subgraph(atTime(this.#filter, time))
        result = graphJson(g.nodes.values(), g.edges.values())
      } else if (this.#last !== undefined) {
        result = graphJson(this.#last.nodes.values(), this.#last.edges.values())
      } else {
        result = graphJson(this.#live.nodes(), this.#live.edges())
      }
      this.send(reply(msg, 'SyncReply', result))
    } catch (err) {
      this.send(reply(msg, 'SyncReply', (err as Error).message, 400))
    }
  }

  onGraphEvent (event: GraphEvent): void {
    if (this.#filter === '') {
      this.send(this.#eventMessage(event))
      return
    }
    this.#pending.push(event)
    // a burst of changes costs one filter evaluation
    if (this.#flushTimer === undefined) {
      this.#flushTimer = setTimeout(() => {
        this.#flushTimer = undefined
        this.#enqueue(async () => await this.#flush())
      }, 20)
    }
  }

  #eventMessage (event: GraphEvent): unknown {
    if (this.#policy === 'partial' && (event.type === 'NodeUpdated' || event.type === 'EdgeUpdated')) {
      const el = event.element
      return message('Graph', event.type === 'NodeUpdated' ? 'NodePartiallyUpdated' : 'EdgePartiallyUpdated',
        { ID: el.ID, UpdatedAt: el.UpdatedAt, Revision: el.Revision, Ops: event.ops ?? [] })
    }
    return message('Graph', event.type, elementJson(event.element))
  }

  async #flush (): Promise<void> {
    const events = this.#pending
    this.#pending = []
    if (this.#filter === '' || events.length === 0) return
    const next = await this.#subgraph(this.#filter)
    const last = this.#last ?? { nodes: new Map(), edges: new Map() }
    for (const [id, n] of next.nodes) if (!last.nodes.has(id)) this.send(message('Graph', 'NodeAdded', elementJson(n)))
    for (const [id, n] of last.nodes) if (!next.nodes.has(id)) this.send(message('Graph', 'NodeDeleted', elementJson(n)))
    for (const [id, e] of next.edges) if (!last.edges.has(id)) this.send(message('Graph', 'EdgeAdded', elementJson(e)))
    for (const [id, e] of last.edges) if (!next.edges.has(id)) this.send(message('Graph', 'EdgeDeleted', elementJson(e)))
    for (const ev of events) {
      if (ev.type !== 'NodeUpdated' && ev.type !== 'EdgeUpdated') continue
      const inBoth = ev.type === 'NodeUpdated'
        ? next.nodes.has(ev.element.ID) && last.nodes.has(ev.element.ID)
        : next.edges.has(ev.element.ID) && last.edges.has(ev.element.ID)
      if (inBoth) this.send(this.#eventMessage(ev))
    }
    this.#last = next
  }

  close (): void {
    clearTimeout(this.#flushTimer)
    this.#pending = []
  }
}
