import type { Bus, Logger, Subscription } from '@topoflow/core'
import { apiTopics } from '../topics.ts'

/** A value of `topoflow.capture.status.v1` (the fields the API uses). */
export interface CaptureStatus {
  CaptureID: string
  Host: string
  NodeID: string
  NodeTID?: string
  State: 'starting' | 'active' | 'stopped' | 'error'
  Type?: string
  PacketsReceived?: number
  PacketsDropped?: number
  Error?: string | null
  Time?: number
}

/** The latest status of every capture on every node, read from the compacted status topic. */
export class CaptureStatusTable {
  readonly #bus: Bus
  readonly #group: string
  readonly #logger: Logger
  readonly #byKey = new Map<string, CaptureStatus>()
  #sub: Subscription | undefined

  constructor (opts: { bus: Bus, group: string, logger: Logger }) {
    this.#bus = opts.bus
    this.#group = opts.group
    this.#logger = opts.logger
  }

  /** Resolves once the topic was read to where it ended at start (see `Subscription.caughtUp`). */
  get caughtUp (): Promise<void> { return this.#sub?.caughtUp ?? Promise.resolve() }

  async start (): Promise<void> {
    this.#sub = await this.#bus.subscribe<CaptureStatus>({
      topics: [apiTopics.captureStatus],
      group: this.#group,
      fromBeginning: true,
      handler: async (batch) => {
        for (const m of batch) {
          const key = m.key ?? ''
          if (m.value === null) { this.#byKey.delete(key); continue }
          if (typeof m.value.CaptureID !== 'string' || typeof m.value.NodeID !== 'string') {
            this.#logger.warn({ key, offset: m.offset }, 'Ignoring a capture status without CaptureID/NodeID')
            continue
          }
          this.#byKey.set(`${m.value.CaptureID}/${m.value.NodeID}`, m.value)
        }
      }
    })
  }

  async close (): Promise<void> {
    await this.#sub?.close()
    this.#sub = undefined
  }

  /** Node IDs on which the capture is active. */
  activeNodes (captureId: string): Set<string> {
    const nodes = new Set<string>()
    for (const s of this.#byKey.values()) if (s.CaptureID === captureId && s.State === 'active') nodes.add(s.NodeID)
    return nodes
  }

  all (): CaptureStatus[] {
    return [...this.#byKey.values()]
  }
}
