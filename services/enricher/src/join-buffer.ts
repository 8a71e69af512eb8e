import type { RawFlow } from './types.ts'
import type { EnrichResult } from './enrich.ts'

interface Pending {
  flow: RawFlow
  deadline: number
  resolve: (result: EnrichResult) => void
}

/**
 * Flows whose socket tables have not arrived yet wait here, a bounded time and in bounded number.
 * When a socket snapshot arrives they are enriched again; a flow that is still incomplete at its
 * deadline, or pushed out by a full buffer, goes on with what is known. Nothing waits forever.
 */
export class JoinBuffer {
  readonly #pending = new Map<string, Pending>()
  readonly #maxPending: number
  readonly #waitMs: number
  readonly #enrich: (flow: RawFlow) => EnrichResult
  evicted = 0
  timedOut = 0
  completedLate = 0

  constructor (opts: { maxPending: number, waitMs: number, enrich: (flow: RawFlow) => EnrichResult }) {
    this.#maxPending = opts.maxPending
    this.#waitMs = opts.waitMs
    this.#enrich = opts.enrich
  }

  get size (): number { return this.#pending.size }

  /** Enriches now, or parks the flow until its sockets show up or its wait runs out. */
  async enrich (flow: RawFlow, now: number): Promise<EnrichResult> {
    const first = this.#enrich(flow)
    if (!first.missingSocket || this.#waitMs === 0) return first
    const key = `${flow.UUID}|${flow.Last}`
    const existing = this.#pending.get(key)
    if (existing !== undefined) this.#release(key, existing, first)
    if (this.#pending.size >= this.#maxPending) {
      const [oldestKey, oldest] = this.#pending.entries().next().value as [string, Pending]
      this.evicted++
      this.#release(oldestKey, oldest, this.#enrich(oldest.flow))
    }
    return await new Promise<EnrichResult>((resolve) => {
      this.#pending.set(key, { flow, deadline: now + this.#waitMs, resolve })
    })
  }

  /** New lookup data arrived: retry every parked flow, releasing those now complete. */
  retry (): void {
    for (const [key, p] of this.#pending) {
      const result = this.#enrich(p.flow)
      if (!result.missingSocket) {
        this.completedLate++
        this.#release(key, p, result)
      }
    }
  }

  /** Releases flows whose wait is over. */
  tick (now: number): void {
    for (const [key, p] of this.#pending) {
      if (p.deadline > now) break // insertion order is deadline order: the wait is the same for all
      this.timedOut++
      this.#release(key, p, this.#enrich(p.flow))
    }
  }

  /** Releases everything (shutdown). */
  flush (): void {
    for (const [key, p] of this.#pending) this.#release(key, p, this.#enrich(p.flow))
  }

  #release (key: string, p: Pending, result: EnrichResult): void {
    this.#pending.delete(key)
    p.resolve(result)
  }
}
