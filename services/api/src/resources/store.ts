import { randomUUID } from 'node:crypto'
import { TopoflowError, type Bus, type BusMessage, type Logger, type Subscription } from '@topoflow/core'
import { apiTopics, asObject } from '../topics.ts'
import { kinds, resourceKinds, type Resource, type ResourceKindName } from './kinds.ts'

/** The value written to `topoflow.resources.v1`, keyed by UUID. */
export interface ResourceRecord {
  ResourceType: ResourceKindName
  UUID: string
  Resource: Resource
  Deleted: boolean
  Time: number
}

export type ResourceListener = (kind: ResourceKindName, action: 'set' | 'delete', resource: Resource) => void

/**
 * Captures, alerts and topology rules, kept on the compacted resources topic so they survive restarts
 * and reach the capture agents and the graph-builder. Each API process reads the whole topic at start
 * (its own consumer group) and keeps a map per kind; writes go to the topic and to the map at once,
 * so a client reads its own writes.
 */
export class ResourceStore {
  readonly #bus: Bus
  readonly #logger: Logger
  readonly #now: () => number
  readonly #group: string
  readonly #maps = new Map<ResourceKindName, Map<string, Resource>>(resourceKinds.map((k) => [k, new Map()]))
  readonly #listeners = new Set<ResourceListener>()
  readonly #timers = new Map<string, NodeJS.Timeout>()
  #sub: Subscription | undefined

  constructor (opts: { bus: Bus, logger: Logger, now: () => number, group: string }) {
    this.#bus = opts.bus
    this.#logger = opts.logger
    this.#now = opts.now
    this.#group = opts.group
  }

  /** Resolves once the topic was read to where it ended at start (see `Subscription.caughtUp`). */
  get caughtUp (): Promise<void> { return this.#sub?.caughtUp ?? Promise.resolve() }

  async start (): Promise<void> {
    this.#sub = await this.#bus.subscribe<ResourceRecord>({
      topics: [apiTopics.resources],
      group: this.#group,
      fromBeginning: true,
      handler: async (batch) => { for (const m of batch) this.#apply(m) }
    })
  }

  async close (): Promise<void> {
    for (const t of this.#timers.values()) clearTimeout(t)
    this.#timers.clear()
    await this.#sub?.close()
    this.#sub = undefined
  }

  onChange (listener: ResourceListener): () => void {
    this.#listeners.add(listener)
    return () => this.#listeners.delete(listener)
  }

  list (kind: ResourceKindName): Resource[] {
    return [...this.#map(kind).values()]
  }

  get (kind: ResourceKindName, id: string): Resource | undefined {
    return this.#map(kind).get(id)
  }

  /** Stores a normalized resource under a new UUID; 409 when it duplicates one (captures). */
  async create (kind: ResourceKindName, resource: Resource, ttlMs?: number): Promise<Resource> {
    const def = kinds[kind]
    if (def.duplicates !== undefined) {
      for (const existing of this.#map(kind).values()) {
        if (def.duplicates(existing, resource)) throw new TopoflowError('TOPOFLOW_ERR_CONFLICT', 'duplicated resource', { context: { existing: existing.UUID } })
      }
    }
    const stored = { ...resource, UUID: randomUUID() }
    await this.#write(kind, stored, false)
    if (ttlMs !== undefined && ttlMs > 0) {
      const timer = setTimeout(() => {
        this.#timers.delete(stored.UUID)
        this.delete(kind, stored.UUID).catch((err: unknown) => this.#logger.warn({ err, kind, uuid: stored.UUID }, 'Could not expire resource'))
      }, ttlMs)
      timer.unref()
      this.#timers.set(stored.UUID, timer)
    }
    return stored
  }

  async update (kind: ResourceKindName, resource: Resource): Promise<void> {
    if (!this.#map(kind).has(resource.UUID)) throw new TopoflowError('TOPOFLOW_ERR_NOT_FOUND', `${kinds[kind].title} '${resource.UUID}' not found`)
    await this.#write(kind, resource, false)
  }

  /** false when there is no such resource. */
  async delete (kind: ResourceKindName, id: string): Promise<boolean> {
    const existing = this.#map(kind).get(id)
    if (existing === undefined) return false
    const timer = this.#timers.get(id)
    if (timer !== undefined) { clearTimeout(timer); this.#timers.delete(id) }
    await this.#write(kind, existing, true)
    // the tombstone lets compaction forget the key; consumers saw the Deleted record first
    await this.#bus.publish(apiTopics.resources, [{ key: id, value: null }])
    return true
  }

  #map (kind: ResourceKindName): Map<string, Resource> {
    return this.#maps.get(kind) as Map<string, Resource>
  }

  async #write (kind: ResourceKindName, resource: Resource, deleted: boolean): Promise<void> {
    const record: ResourceRecord = { ResourceType: kind, UUID: resource.UUID, Resource: resource, Deleted: deleted, Time: this.#now() }
    await this.#bus.publish<ResourceRecord>(apiTopics.resources, [{ key: resource.UUID, value: record }])
    this.#set(kind, resource, deleted)
  }

  #apply (m: BusMessage<ResourceRecord>): void {
    if (m.value === null) {
      // a tombstone: forget the key whatever its kind
      for (const kind of resourceKinds) {
        const r = this.#map(kind).get(m.key ?? '')
        if (r !== undefined) this.#set(kind, r, true)
      }
      return
    }
    const v = m.value
    const kind = v.ResourceType
    const resource = asObject(v.Resource) as Resource | undefined
    if (!resourceKinds.includes(kind) || resource === undefined || typeof v.UUID !== 'string') {
      this.#logger.warn({ key: m.key, offset: m.offset }, 'Ignoring a resource record of an unknown shape')
      return
    }
    this.#set(kind, { ...resource, UUID: v.UUID }, v.Deleted)
  }

  #set (kind: ResourceKindName, resource: Resource, deleted: boolean): void {
    const map = this.#map(kind)
    const before = map.get(resource.UUID)
    if (deleted) {
      if (before === undefined) return
      map.delete(resource.UUID)
      this.#emit(kind, 'delete', before)
      return
    }
    if (before !== undefined && JSON.stringify(before) === JSON.stringify(resource)) return
    map.set(resource.UUID, resource)
    this.#emit(kind, 'set', resource)
  }

  #emit (kind: ResourceKindName, action: 'set' | 'delete', resource: Resource): void {
    for (const l of this.#listeners) {
      try {
        l(kind, action, resource)
      } catch (err) {
        this.#logger.error({ err, kind, action }, 'Resource listener failed')
      }
    }
  }
}
