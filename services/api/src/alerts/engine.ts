import type { Logger } from '@topoflow/core'
import type { LiveGraph } from '../graph/live-graph.ts'
import { deepEqual } from '../lib/json-patch.ts'
import { parseGoDuration, type Resource } from '../resources/kinds.ts'
import type { ResourceStore } from '../resources/store.ts'
import { evaluateExpression, isGremlinExpression, parseExpression, truthy } from './expression.ts'

/** What Skydive posts to a webhook (and broadcasts in the `Alert` websocket namespace). */
export interface AlertMessage {
  UUID: string
  /** RFC 3339 */
  Timestamp: string
  ReasonData: unknown
}

export interface AlertEngineOptions {
  resources: ResourceStore
  live: LiveGraph
  query: (gremlin: string) => Promise<unknown>
  logger: Logger
  now: () => number
  /** graph-triggered alerts are evaluated once per burst of changes, this long after the last one (ms) */
  debounceMs?: number
  /** posts a webhook; by default an HTTP POST with a JSON body and a 10 s limit */
  post?: (url: string, body: string) => Promise<void>
  /** every fired alert, e.g. for websocket subscribers */
  onFire?: (message: AlertMessage) => void
  metrics?: { fired: (uuid: string) => void, failed: (uuid: string) => void }
}

interface Registered {
  alert: Resource
  evaluate: () => Promise<unknown>
  last: unknown
  timer?: NodeJS.Timeout
  running: boolean
}

async function defaultPost (url: string, body: string): Promise<void> {
  const res = await fetch(url, { method: 'POST', body, headers: { 'content-type': 'application/json' }, signal: AbortSignal.timeout(10_000) })
  await res.arrayBuffer()
  if (res.status >= 400) throw new Error(`webhook answered ${res.status}`)
}

/**
 * Skydive's alerting: each alert's Gremlin query (or expression) is evaluated when the graph changes
 * (Trigger "graph", the default) or every N seconds (Trigger "duration:Ns"). When the result is
 * non-empty and differs from the one that fired last, the webhook in Action receives the message.
 */
export class AlertEngine {
  readonly #opts: AlertEngineOptions
  readonly #alerts = new Map<string, Registered>()
  readonly #unsubscribe: Array<() => void> = []
  #debounce: NodeJS.Timeout | undefined
  #closed = false

  constructor (opts: AlertEngineOptions) {
    this.#opts = opts
  }

  start (): void {
    this.#unsubscribe.push(this.#opts.resources.onChange((kind, action, r) => {
      if (kind !== 'alert') return
      if (action === 'delete') this.#unregister(r.UUID)
      else this.#register(r)
    }))
    this.#unsubscribe.push(this.#opts.live.onEvent(() => this.#scheduleGraphAlerts()))
    for (const a of this.#opts.resources.list('alert')) this.#register(a)
  }

  close (): void {
    this.#closed = true
    for (const u of this.#unsubscribe.splice(0)) u()
    clearTimeout(this.#debounce)
    for (const id of [...this.#alerts.keys()]) this.#unregister(id)
  }

  /** Evaluates every alert now (tests, and the first evaluation after registration). */
  async evaluateAll (): Promise<void> {
    await Promise.all([...this.#alerts.values()].map(async (r) => await this.#evaluate(r)))
  }

  #register (alert: Resource): void {
    this.#unregister(alert.UUID)
    const expression = String(alert.Expression ?? '')
    let evaluate: () => Promise<unknown>
    try {
      if (isGremlinExpression(expression)) {
        evaluate = async () => await this.#opts.query(expression)
      } else {
        const ast = parseExpression(expression)
        evaluate = async () => await evaluateExpression(ast, this.#opts.query)
      }
    } catch (err) {
      this.#opts.logger.warn({ err, uuid: alert.UUID }, 'Alert expression does not parse; alert ignored')
      return
    }
    const reg: Registered = { alert, evaluate, last: undefined, running: false }
    this.#alerts.set(alert.UUID, reg)
    const trigger = String(alert.Trigger ?? '')
    if (trigger.startsWith('duration:')) {
      const period = parseGoDuration(trigger.slice(9)) ?? 0
      // a period below 100 ms would only burn CPU
      reg.timer = setInterval(() => { void this.#evaluate(reg) }, Math.max(100, period))
      reg.timer.unref()
    }
    void this.#evaluate(reg)
  }

  #unregister (id: string): void {
    const reg = this.#alerts.get(id)
    if (reg === undefined) return
    clearInterval(reg.timer)
    this.#alerts.delete(id)
  }

  #scheduleGraphAlerts (): void {
    if (this.#closed) return
    clearTimeout(this.#debounce)
    this.#debounce = setTimeout(() => {
      for (const reg of this.#alerts.values()) {
        const trigger = String(reg.alert.Trigger ?? '')
        if (trigger === '' || trigger === 'graph') void this.#evaluate(reg)
      }
    }, this.#opts.debounceMs ?? 500)
    this.#debounce.unref()
  }

  async #evaluate (reg: Registered): Promise<void> {
    if (reg.running || this.#closed) return
    reg.running = true
    try {
      const result = await reg.evaluate()
      if (!truthy(result)) { reg.last = undefined; return }
      if (reg.last !== undefined && deepEqual(reg.last, result)) return
      reg.last = result
      await this.#fire(reg, result)
    } catch (err) {
      this.#opts.logger.warn({ err, uuid: reg.alert.UUID }, 'Alert evaluation failed')
    } finally {
      reg.running = false
    }
  }

  async #fire (reg: Registered, data: unknown): Promise<void> {
    const message: AlertMessage = { UUID: reg.alert.UUID, Timestamp: new Date(this.#opts.now()).toISOString(), ReasonData: data }
    this.#opts.logger.info({ uuid: reg.alert.UUID, action: reg.alert.Action }, 'Alert triggered')
    this.#opts.metrics?.fired(reg.alert.UUID)
    this.#opts.onFire?.(message)
    const action = String(reg.alert.Action ?? '')
    if (!/^https?:\/\//.test(action)) {
      if (action.startsWith('file://')) this.#opts.logger.warn({ uuid: reg.alert.UUID }, 'file:// alert actions are not run by Topoflow')
      return
    }
    try {
      await (this.#opts.post ?? defaultPost)(action, JSON.stringify(message))
    } catch (err) {
      this.#opts.metrics?.failed(reg.alert.UUID)
      this.#opts.logger.warn({ err, uuid: reg.alert.UUID, url: action }, 'Alert webhook failed')
    }
  }
}
