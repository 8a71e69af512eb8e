// The client-side copy of the graph: replaced by a full load or a SyncReply, patched by the
// websocket's Graph messages. Listeners are told once per batch of changes.

/**
 * @typedef {import('./layout.js').GraphNode} GraphNode
 * @typedef {import('./layout.js').GraphEdge} GraphEdge
 * @typedef {{ Namespace?: string, Type?: string, Status?: number, Obj?: unknown }} WsMessage
 */

/** @param {unknown} v @returns {v is Record<string, unknown>} */
function isObject (v) {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}

/** @param {unknown} v @returns {v is GraphNode} */
export function isNode (v) {
  return isObject(v) && typeof v.ID === 'string' && isObject(v.Metadata) && !('Parent' in v && 'Child' in v)
}

/** @param {unknown} v @returns {v is GraphEdge} */
export function isEdge (v) {
  return isObject(v) && typeof v.ID === 'string' && typeof v.Parent === 'string' && typeof v.Child === 'string'
}

/**
 * Sets or deletes `Metadata.a.b` style paths (NodePartiallyUpdated ops).
 * @param {Record<string, unknown>} target
 * @param {string} path
 * @param {unknown} value
 * @param {boolean} remove
 */
function applyPath (target, path, value, remove) {
  const keys = path.split('.')
  let cur = target
  for (const k of keys.slice(0, -1)) {
    const next = cur[k]
    if (!isObject(next)) {
      if (remove) return
      cur[k] = {}
    }
    cur = /** @type {Record<string, unknown>} */ (cur[k])
  }
  const last = /** @type {string} */ (keys[keys.length - 1])
  if (remove) delete cur[last]
  else cur[last] = value
}

export class GraphStore {
  /** @type {Map<string, GraphNode>} */
  nodes = new Map()
  /** @type {Map<string, GraphEdge>} */
  edges = new Map()
  /** @type {Set<() => void>} */
  #listeners = new Set()
  /** epoch ms of the last change */
  updatedAt = 0

  /** @param {() => void} fn @returns {() => void} */
  subscribe (fn) {
    this.#listeners.add(fn)
    return () => this.#listeners.delete(fn)
  }

  #changed () {
    this.updatedAt = Date.now()
    for (const fn of this.#listeners) fn()
  }

  /**
   * Replaces the whole graph.
   * @param {unknown[]} nodes
   * @param {unknown[]} edges
   */
  replace (nodes, edges) {
    this.nodes = new Map(nodes.filter(isNode).map((n) => [n.ID, n]))
    this.edges = new Map(edges.filter(isEdge).map((e) => [e.ID, e]))
    this.#changed()
  }

  /**
   * Applies one Graph namespace message; returns whether it changed anything.
   * @param {WsMessage} msg
   */
  apply (msg) {
    if (msg.Namespace !== 'Graph') return false
    const obj = msg.Obj
    switch (msg.Type) {
      case 'SyncReply':
      case 'Sync': {
        if (msg.Status !== undefined && msg.Status !== 200) return false
        if (!isObject(obj)) return false
        this.replace(Array.isArray(obj.Nodes) ? obj.Nodes : [], Array.isArray(obj.Edges) ? obj.Edges : [])
        return true
      }
      case 'NodeAdded':
      case 'NodeUpdated':
        if (!isNode(obj)) return false
        this.nodes.set(obj.ID, obj)
        break
      case 'NodeDeleted': {
        if (!isObject(obj) || typeof obj.ID !== 'string') return false
        this.nodes.delete(obj.ID)
        for (const [id, e] of this.edges) if (e.Parent === obj.ID || e.Child === obj.ID) this.edges.delete(id)
        break
      }
      case 'EdgeAdded':
      case 'EdgeUpdated':
        if (!isEdge(obj)) return false
        this.edges.set(obj.ID, obj)
        break
      case 'EdgeDeleted':
        if (!isObject(obj) || typeof obj.ID !== 'string') return false
        this.edges.delete(obj.ID)
        break
      case 'NodePartiallyUpdated':
      case 'EdgePartiallyUpdated': {
        if (!isObject(obj) || typeof obj.ID !== 'string' || !Array.isArray(obj.Ops)) return false
        const el = msg.Type === 'NodePartiallyUpdated' ? this.nodes.get(obj.ID) : this.edges.get(obj.ID)
        if (el === undefined) return false
        for (const op of obj.Ops) {
          if (!isObject(op) || typeof op.Key !== 'string') continue
          applyPath(/** @type {Record<string, unknown>} */ (/** @type {unknown} */ (el)), op.Key, op.Value, op.Type === 2)
        }
        if (typeof obj.UpdatedAt === 'number') el.UpdatedAt = obj.UpdatedAt
        break
      }
      default:
        return false
    }
    this.#changed()
    return true
  }

  /** Edges touching a node. @param {string} id */
  edgesOf (id) {
    return [...this.edges.values()].filter((e) => e.Parent === id || e.Child === id)
  }

  /** The node whose TID is `tid` (flows name their capture node by TID). @param {string} tid */
  nodeByTid (tid) {
    for (const n of this.nodes.values()) if (n.Metadata.TID === tid) return n
    return undefined
  }
}
