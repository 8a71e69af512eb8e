import { createInterface } from 'node:readline'
import { KubeConfig } from '@kubernetes/client-node'
import fetch from 'node-fetch'
import type { Bus, Logger } from '@topoflow/core'
import { TopoflowError, backoffDelay, partLogger } from '@topoflow/core'
import { topics } from '@topoflow/schemas'
import { kindSpecs, sanitize, type K8sObject, type KindSpec } from './kinds.ts'

export interface K8sProbeOptions {
  bus: Bus
  logger: Logger
  /** kubeconfig file; without it the in-cluster service account is used */
  kubeconfig?: string
  clusterName: string
  /** Skydive type names to follow (default: all of `kindSpecs`) */
  types?: string[]
  now?: () => number
}

type EventKind = 'Added' | 'Modified' | 'Deleted'

interface KindState {
  spec: KindSpec
  resourceVersion: string
  /** uid → object, to publish deletions of what vanished between two lists */
  known: Map<string, K8sObject>
  abort: AbortController | null
}

/** Thrown inside a watch when the API server says our resourceVersion is too old (410 Gone). */
class GoneError extends Error {}

/**
 * The cluster's probe: list then watch every kind, publishing each object to `topoflow.k8s.v1`
 * (containers as objects of their own, like Skydive). A watch that breaks resumes from the last
 * resourceVersion seen; a 410 Gone relists and publishes what changed meanwhile.
 */
export class K8sProbe {
  readonly #opts: K8sProbeOptions
  readonly #kc = new KubeConfig()
  readonly #states: KindState[]
  readonly #logger: Logger
  #closed = false
  #loops: Array<Promise<void>> = []
  stats = { lists: 0, watches: 0, relists: 0, events: 0, errors: 0 }

  constructor (opts: K8sProbeOptions) {
    this.#opts = opts
    this.#logger = partLogger(opts.logger, 'k8s-probe')
    if (opts.kubeconfig !== undefined) this.#kc.loadFromFile(opts.kubeconfig)
    else this.#kc.loadFromCluster()
    const wanted = new Set(opts.types ?? kindSpecs.map((k) => k.type))
    this.#states = kindSpecs.filter((k) => wanted.has(k.type)).map((spec) => ({ spec, resourceVersion: '', known: new Map(), abort: null }))
  }

  async start (): Promise<void> {
    await this.#publishCluster()
    // The first list of every kind completes before start() resolves, so readiness means "synced".
    for (const state of this.#states) await this.#list(state)
    this.#loops = this.#states.map(async (state) => await this.#watchLoop(state))
  }

  async close (): Promise<void> {
    this.#closed = true
    for (const s of this.#states) s.abort?.abort()
    await Promise.allSettled(this.#loops)
  }

  async #publishCluster (): Promise<void> {
    const name = this.#opts.clusterName === '' ? (this.#kc.getCurrentCluster()?.name ?? 'cluster') : this.#opts.clusterName
    await this.#publish('Added', 'cluster', { kind: 'Cluster', metadata: { name, uid: `cluster-${name}` } })
  }

  async #publish (kind: EventKind, type: string, obj: K8sObject): Promise<void> {
    const md = obj.metadata ?? {}
    const uid = md.uid ?? `${type}/${md.namespace ?? ''}/${md.name ?? ''}`
    const base = { Namespace: md.namespace ?? null, ResourceVersion: md.resourceVersion ?? '', Time: (this.#opts.now ?? Date.now)() }
    const messages = [{ key: uid, value: { Kind: kind, ObjectKind: type, UID: uid, Name: md.name ?? '', ...base, Object: obj } }]
    if (type === 'pod') {
      const containers = ((obj.spec?.containers ?? []) as Array<{ name?: string, image?: string }>)
      for (const c of containers) {
        const cuid = `${uid}/${c.name ?? ''}`
        messages.push({ key: cuid, value: { Kind: kind, ObjectKind: 'container', UID: cuid, Name: c.name ?? '', ...base, Object: { kind: 'Container', metadata: { name: c.name, namespace: md.namespace, uid: cuid, pod: md.name }, spec: c } } })
      }
    }
    this.stats.events += messages.length
    await this.#opts.bus.publish(topics.k8s, messages)
  }

  async #list (state: KindState): Promise<void> {
    const cluster = this.#kc.getCurrentCluster()
    if (cluster === null) throw new TopoflowError('TOPOFLOW_ERR_PROBE', 'Kubernetes configuration has no current cluster')
    const init = await this.#kc.applyToFetchOptions({})
    const res = await fetch(`${cluster.server}${state.spec.path}`, init as Parameters<typeof fetch>[1])
    if (!res.ok) throw new TopoflowError('TOPOFLOW_ERR_PROBE', `List of ${state.spec.kind} answered HTTP ${res.status}`, { retriable: true })
    const body = await res.json() as { metadata?: { resourceVersion?: string }, items?: K8sObject[] }
    this.stats.lists++
    const seen = new Map<string, K8sObject>()
    for (const raw of body.items ?? []) {
      const obj = sanitize(state.spec.kind, { ...raw, kind: state.spec.kind })
      const uid = obj.metadata?.uid ?? ''
      seen.set(uid, obj)
      const before = state.known.get(uid)
      if (before?.metadata?.resourceVersion !== obj.metadata?.resourceVersion) await this.#publish(before === undefined ? 'Added' : 'Modified', state.spec.type, obj)
    }
    for (const [uid, obj] of state.known) if (!seen.has(uid)) await this.#publish('Deleted', state.spec.type, obj)
    state.known = seen
    state.resourceVersion = body.metadata?.resourceVersion ?? ''
  }

  async #watchLoop (state: KindState): Promise<void> {
    for (let attempt = 0; !this.#closed;) {
      try {
        await this.#watchOnce(state)
        attempt = 0
      } catch (err) {
        if (this.#closed) return
        if (err instanceof GoneError) {
          this.stats.relists++
          this.#logger.info({ kind: state.spec.kind }, 'Watch expired (410 Gone); relisting')
          try { await this.#list(state); attempt = 0; continue } catch (listErr) { err = listErr }
        }
        this.stats.errors++
        const delay = backoffDelay(attempt++, { minDelayMs: 200, maxDelayMs: 30_000 })
        this.#logger.warn({ err, kind: state.spec.kind, delay }, 'Watch failed; retrying')
        await new Promise((resolve) => setTimeout(resolve, delay))
      }
    }
  }

  /**
   * One watch stream, until it ends: resolves on a clean end, rejects on errors and on 410 Gone.
   * The stream is read here rather than through client-node's Watch so that close() can abort a
   * watch whose response has not even started (Watch only hands out its AbortController later).
   */
  async #watchOnce (state: KindState): Promise<void> {
    const cluster = this.#kc.getCurrentCluster()
    if (cluster === null) throw new TopoflowError('TOPOFLOW_ERR_PROBE', 'Kubernetes configuration has no current cluster')
    const url = new URL(`${cluster.server}${state.spec.path}`)
    url.searchParams.set('watch', 'true')
    url.searchParams.set('allowWatchBookmarks', 'true')
    if (state.resourceVersion !== '') url.searchParams.set('resourceVersion', state.resourceVersion)
    const abort = new AbortController()
    state.abort = abort
    this.stats.watches++
    const init = { ...(await this.#kc.applyToFetchOptions({})), signal: abort.signal } as Parameters<typeof fetch>[1]
    const res = await fetch(url.toString(), init)
    if (res.status === 410) throw new GoneError('410 Gone')
    if (!res.ok || res.body === null) throw new TopoflowError('TOPOFLOW_ERR_PROBE', `Watch of ${state.spec.kind} answered HTTP ${res.status}`, { retriable: true })
    const lines = createInterface({ input: res.body as unknown as NodeJS.ReadableStream, crlfDelay: Infinity })
    try {
      for await (const line of lines) {
        if (line.trim() === '') continue
        let event: { type?: string, object?: K8sObject & { code?: number } }
        try {
          event = JSON.parse(line) as typeof event
        } catch {
          this.stats.errors++
          continue // a garbled line loses that event only; the relist after a break repairs it
        }
        await this.#onWatchEvent(state, event.type ?? '', event.object ?? {})
      }
    } catch (err) {
      if (this.#closed) return
      throw err
    }
  }

  async #onWatchEvent (state: KindState, phase: string, raw: K8sObject & { code?: number }): Promise<void> {
    if (phase === 'ERROR') {
      if (raw.code === 410) throw new GoneError('410 Gone')
      throw new TopoflowError('TOPOFLOW_ERR_PROBE', `Watch of ${state.spec.kind} sent an error: ${JSON.stringify(raw)}`, { retriable: true })
    }
    const rv = raw.metadata?.resourceVersion
    if (rv !== undefined) state.resourceVersion = rv
    if (phase === 'BOOKMARK') return
    const obj = sanitize(state.spec.kind, { ...raw, kind: state.spec.kind })
    const uid = obj.metadata?.uid ?? ''
    const kind: EventKind = phase === 'ADDED' ? 'Added' : phase === 'DELETED' ? 'Deleted' : 'Modified'
    if (kind === 'Deleted') state.known.delete(uid)
    else state.known.set(uid, obj)
    await this.#publish(kind, state.spec.type, obj)
  }
}
