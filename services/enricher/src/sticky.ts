import type { EndpointInfo, EnrichedFlow } from './types.ts'

/**
 * What was learned about a flow's ends stays learned: a short-lived client's socket is gone by the
 * flow's last update, and that update must not erase the process its earlier updates found. Keeps
 * the last attribution of the most recently updated flows, bounded.
 */
export class StickyEnrichment {
  readonly #byFlow = new Map<string, { A: EndpointInfo, B: EndpointInfo, server: EnrichedFlow['ServerEnd'] }>()
  readonly #max: number

  constructor (max: number) { this.#max = max }

  get size (): number { return this.#byFlow.size }

  /** Fills what this update did not find from what earlier updates of the same flow found. */
  apply (flow: EnrichedFlow): EnrichedFlow {
    const before = this.#byFlow.get(flow.UUID)
    const merged = before === undefined
      ? flow
      : { ...flow, AEnrich: merge(flow.AEnrich, before.A), BEnrich: merge(flow.BEnrich, before.B), ServerEnd: flow.ServerEnd ?? before.server }
    this.#byFlow.delete(flow.UUID)
    this.#byFlow.set(flow.UUID, { A: merged.AEnrich, B: merged.BEnrich, server: merged.ServerEnd })
    if (this.#byFlow.size > this.#max) this.#byFlow.delete(this.#byFlow.keys().next().value as string)
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
