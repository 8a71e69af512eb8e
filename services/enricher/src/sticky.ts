import type { EndpointInfo, EnrichedFlow } from './types.ts'

interface Learned { A: EndpointInfo, B: EndpointInfo, server: EnrichedFlow['ServerEnd'] }

/**
 * What was learned about a flow's ends stays learned: a short-lived client's socket is gone by the
 * flow's last update, and that update must not erase the process its earlier updates found. Keeps
 * the last attribution of the most recently updated flows, bounded.
 *
 * Two generations rather than an LRU map: evicting a Map's oldest key one at a time makes V8 skip
 * ever more deleted slots to find it (tens of µs per flow once full); swapping generations is O(1).
 * A flow updated within the last `max / 2` flows is always remembered.
 */
export class StickyEnrichment {
  #current = new Map<string, Learned>()
  #previous = new Map<string, Learned>()
  readonly #generation: number

  constructor (max: number) { this.#generation = Math.max(1, Math.floor(max / 2)) }

  get size (): number { return this.#current.size + this.#previous.size }

  /** Fills what this update did not find from what earlier updates of the same flow found. */
  apply (flow: EnrichedFlow): EnrichedFlow {
    const before = this.#current.get(flow.UUID) ?? this.#previous.get(flow.UUID)
    const merged = before === undefined
      ? flow
      : { ...flow, AEnrich: merge(flow.AEnrich, before.A), BEnrich: merge(flow.BEnrich, before.B), ServerEnd: flow.ServerEnd ?? before.server }
    if (this.#current.size >= this.#generation && !this.#current.has(flow.UUID)) {
      this.#previous = this.#current
      this.#current = new Map()
    }
    this.#current.set(flow.UUID, { A: merged.AEnrich, B: merged.BEnrich, server: merged.ServerEnd })
    return merged
  }
}

function merge (now: EndpointInfo, before: EndpointInfo): EndpointInfo {
  const out = { ...now }
  for (const key of Object.keys(out) as Array<keyof EndpointInfo>) {
    if (key === 'Labels') {
      if (Object.keys(out.Labels).length === 0) out.Labels = before.Labels
    } else if (out[key] === null) {
      (out as Record<string, unknown>)[key] = before[key]
    }
  }
  // A process belongs with its pid: never pair one update's pid with another's name.
  if (now.Pid === null && before.Pid !== null) {
    out.Pid = before.Pid
    out.ProcessName = before.ProcessName
    out.Process = before.Process
  }
  return out
}
