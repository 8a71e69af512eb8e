import { elementJson, type GraphEdge, type GraphNode } from '@topoflow/gremlin'
import { getOwn, setIn, type Logger } from '@topoflow/core'
import type { WebSocket } from 'ws'
import type { LiveGraph } from '../graph/live-graph.ts'
import type { TopologyWriter } from '../graph/topology-writer.ts'
import { asObject } from '../topics.ts'
import { sendJson, type WsClient } from './hub.ts'
import { parseMessage, reply, type WsMessage } from './messages.ts'

export type PersistencePolicy = 'Persistent' | 'DeleteOnDisconnect'

/** Sets or deletes `Metadata.a.b` style keys of a partial update. */
function applyOp (metadata: Record<string, unknown>, op: { Type?: unknown, Key?: unknown, Value?: unknown }): void {
  if (typeof op.Key !== 'string') return
  const path = (op.Key.startsWith('Metadata.') ? op.Key.slice(9) : op.Key).split('.')
  if (op.Type !== 2) { setIn(metadata, path, op.Value); return }
  // A delete only walks what is there, through own properties: keys come from the client.
  let node: unknown = metadata
  for (const k of path.slice(0, -1)) node = typeof node === 'object' && node !== null && !Array.isArray(node) ? getOwn(node, k) : undefined
  const last = path[path.length - 1] as string
  if (typeof node === 'object' && node !== null && !Array.isArray(node) && Object.hasOwn(node, last)) Reflect.deleteProperty(node, last)
}

/**
 * One `/ws/publisher` client (an external writer such as Skydive's Python WSClient): its node and
 * edge messages become topology events with its origin `<X-Client-Type>.<X-Host-ID>`.
 */
export class Publisher implements WsClient {
  readonly hostId: string
  readonly clientType: string
  readonly addr: string
  readonly port: number
  readonly connectedAt: number
  readonly socket: WebSocket
  readonly origin: string
  readonly policy: PersistencePolicy
  readonly #live: LiveGraph
  readonly #writer: TopologyWriter
  readonly #logger: Logger
  readonly #now: () => number
  #chain: Promise<void> = Promise.resolve()
  #wrote = false

  constructor (opts: {
    socket: WebSocket, hostId: string, clientType: string, addr: string, port: number, policy: PersistencePolicy,
    live: LiveGraph, writer: TopologyWriter, logger: Logger, now: () => number
  }) {
    this.socket = opts.socket
    this.hostId = opts.hostId
    this.clientType = opts.clientType
    this.addr = opts.addr
    this.port = opts.port
    this.policy = opts.policy
    this.origin = `${opts.clientType}.${opts.hostId}`
    this.#live = opts.live
    this.#writer = opts.writer
    this.#logger = opts.logger
    this.#now = opts.now
    this.connectedAt = opts.now()
  }

  send (msg: unknown): void {
    sendJson(this.socket, msg)
  }

  onMessage (data: unknown): void {
    const msg = parseMessage(data)
    if (msg === undefined || msg.Namespace !== 'Graph') {
      this.#logger.warn({ origin: this.origin }, 'Publisher sent a message that is not a Graph message; ignored')
      return
    }
    this.#chain = this.#chain.then(async () => await this.#handle(msg)).catch((err: unknown) => {
      this.#logger.warn({ err, origin: this.origin, type: msg.Type }, 'Publisher message rejected')
    })
  }

  /** Resolves once every message received so far has been handled. */
  async settled (): Promise<void> {
    await this.#chain
  }

  #node (raw: unknown): GraphNode {
    const o = asObject(raw)
    if (o === undefined || typeof o.ID !== 'string' || o.ID === '') throw new Error('a node needs an ID')
    const prev = this.#live.graph.getNode(o.ID)
    const now = this.#now()
    return {
      ID: o.ID,
      Metadata: asObject(o.Metadata) ?? {},
      Host: typeof o.Host === 'string' && o.Host !== '' ? o.Host : this.hostId,
      Origin: this.origin,
      CreatedAt: typeof o.CreatedAt === 'number' ? o.CreatedAt : prev?.CreatedAt ?? now,
      UpdatedAt: typeof o.UpdatedAt === 'number' ? o.UpdatedAt : now,
      Revision: Math.max(typeof o.Revision === 'number' ? o.Revision : 1, prev === undefined ? 1 : prev.Revision + 1)
    }
  }

  #edge (raw: unknown): GraphEdge {
    const o = asObject(raw)
    if (o === undefined || typeof o.Parent !== 'string' || typeof o.Child !== 'string') throw new Error('an edge needs Parent and Child')
    const base = this.#node(raw)
    const prev = this.#live.graph.getEdge(base.ID)
    return { ...base, Revision: Math.max(base.Revision, prev === undefined ? 1 : prev.Revision + 1), Parent: o.Parent, Child: o.Child }
  }

  async #handle (msg: WsMessage): Promise<void> {
    this.#wrote = true
    switch (msg.Type) {
      case 'NodeAdded':
      case 'NodeUpdated':
        await this.#writer.upsertNode(this.#node(msg.Obj))
        return
      case 'NodeDeleted': {
        const n = this.#live.graph.getNode(this.#node(msg.Obj).ID)
        if (n !== undefined) await this.#writer.deleteNode(n)
        return
      }
      case 'EdgeAdded':
      case 'EdgeUpdated':
        await this.#writer.upsertEdge(this.#edge(msg.Obj))
        return
      case 'EdgeDeleted': {
        const id = asObject(msg.Obj)?.ID
        const e = typeof id === 'string' ? this.#live.graph.getEdge(id) : undefined
        if (e !== undefined) await this.#writer.deleteEdge(e)
        return
      }
      case 'NodePartiallyUpdated':
      case 'EdgePartiallyUpdated': {
        const o = asObject(msg.Obj) ?? {}
        const isNode = msg.Type === 'NodePartiallyUpdated'
        const current = typeof o.ID === 'string' ? (isNode ? this.#live.graph.getNode(o.ID) : this.#live.graph.getEdge(o.ID)) : undefined
        if (current === undefined) throw new Error(`${isNode ? 'Node' : 'Edge'} '${String(o.ID)}' does not exist`)
        const metadata = structuredClone(current.Metadata)
        for (const op of Array.isArray(o.Ops) ? o.Ops as Array<Record<string, unknown>> : []) applyOp(metadata, op)
        const updated = {
          ...current,
          Metadata: metadata,
          UpdatedAt: typeof o.UpdatedAt === 'number' ? o.UpdatedAt : this.#now(),
          Revision: Math.max(typeof o.Revision === 'number' ? o.Revision : 0, current.Revision + 1)
        }
        if (isNode) await this.#writer.upsertNode(updated)
        else await this.#writer.upsertEdge(updated as GraphEdge)
        return
      }
      case 'Sync':
      case 'SyncReply': {
        const o = asObject(msg.Obj) ?? {}
        const nodes = (Array.isArray(o.Nodes) ? o.Nodes : []).map((n) => this.#node(n))
        const edges = (Array.isArray(o.Edges) ? o.Edges : []).map((e) => this.#edge(e))
        await this.#writer.sync(this.hostId, this.origin, nodes, edges)
        return
      }
      case 'SyncRequest':
        this.send(reply(msg, 'SyncReply', { Nodes: this.#live.nodes().map(elementJson), Edges: this.#live.edges().map(elementJson) }))
        return
      default:
        this.#logger.debug({ type: msg.Type }, 'Unknown Graph message type from publisher')
    }
  }

  /** On disconnect, a DeleteOnDisconnect publisher's elements go away. */
  async disconnected (): Promise<void> {
    await this.#chain
    if (this.policy !== 'DeleteOnDisconnect' || !this.#wrote) return
    for (const e of this.#live.edges().filter((x) => x.Origin === this.origin)) await this.#writer.deleteEdge(e)
    for (const n of this.#live.nodes().filter((x) => x.Origin === this.origin)) await this.#writer.deleteNode(n)
  }
}
