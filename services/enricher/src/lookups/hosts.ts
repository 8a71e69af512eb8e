import type { GraphElement, TopologyEvent } from '../types.ts'

export interface AddressOwner { host: string, interface: string }

/**
 * IP address → the host and interface that carry it, from the interface nodes' `IPV4`/`IPV6` CIDR lists.
 * A host's full sync replaces everything known about that host.
 */
export class HostIndex {
  readonly #nodesByHost = new Map<string, Map<string, GraphElement>>()
  #byAddress = new Map<string, AddressOwner>()
  #dirty = false

  apply (event: TopologyEvent): void {
    switch (event.Kind) {
      case 'HostSync': {
        const nodes = new Map<string, GraphElement>()
        for (const n of event.Nodes ?? []) nodes.set(n.ID, n)
        this.#nodesByHost.set(event.Host, nodes)
        break
      }
      case 'NodeUpdated':
        if (event.Node != null) this.#hostNodes(event.Host).set(event.Node.ID, event.Node)
        break
      case 'NodeDeleted':
        if (event.Node != null) this.#hostNodes(event.Host).delete(event.Node.ID)
        break
      default:
        return
    }
    this.#dirty = true
  }

  lookup (address: string): AddressOwner | undefined {
    if (this.#dirty) this.#rebuild()
    return this.#byAddress.get(address)
  }

  /** Hosts known to the index, e.g. to tell loopback traffic apart. */
  get hostCount (): number { return this.#nodesByHost.size }

  #hostNodes (host: string): Map<string, GraphElement> {
    let nodes = this.#nodesByHost.get(host)
    if (nodes === undefined) this.#nodesByHost.set(host, nodes = new Map())
    return nodes
  }

  // Rebuilt lazily: topology changes are rare next to flows, and one rebuild serves many lookups.
  #rebuild (): void {
    const byAddress = new Map<string, AddressOwner>()
    for (const [host, nodes] of this.#nodesByHost) {
      for (const node of nodes.values()) {
        const md = node.Metadata
        const name = typeof md.Name === 'string' ? md.Name : ''
        for (const key of ['IPV4', 'IPV6']) {
          const cidrs = md[key]
          if (!Array.isArray(cidrs)) continue
          for (const cidr of cidrs) {
            if (typeof cidr !== 'string') continue
            const ip = cidr.split('/')[0] ?? ''
            // Loopback addresses exist on every host and say nothing about which one is meant.
            if (ip === '' || ip.startsWith('127.') || ip === '::1') continue
            byAddress.set(ip, { host, interface: name })
          }
        }
      }
    }
    this.#byAddress = byAddress
    this.#dirty = false
  }
}
