import { execFileSync, spawnSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import type { TestContext } from 'node:test'
import type { GraphEdge, GraphNode, TopologyEvent } from '../../../src/topology/types.ts'

/** Helpers for topology tests on real namespaces: commands, waiting, and the graph a consumer rebuilds. */

export const sh = (...args: string[]): string => execFileSync(args[0] as string, args.slice(1), { encoding: 'utf8', stdio: ['pipe', 'pipe', 'pipe'] })
export const ipn = (ns: string, ...args: string[]): string => sh('ip', '-n', ns, ...args)

const tools = ['ip', 'nsenter', 'ss']

/** Why these tests cannot run here, if they cannot. */
function unavailable (): string | undefined {
  if (process.getuid?.() !== 0) return 'needs root to make network namespaces'
  const missing = tools.filter(t => spawnSync('sh', ['-c', `command -v ${t}`], { stdio: 'ignore' }).status !== 0)
  return missing.length > 0 ? `missing tools: ${missing.join(', ')} (Debian packages iproute2, util-linux)` : undefined
}

export const whyNot = unavailable()
/** The `skip` option of these tests: a reason outside CI; in CI (CI=true) never, so that they fail instead. */
export const skip: string | false = whyNot !== undefined && process.env.CI !== 'true' ? whyNot : false

/** Fails a test that CI runs although it cannot run here. */
export function assertRunnable (): void {
  if (whyNot !== undefined) throw new Error(`The topology integration tests cannot run here: ${whyNot}`)
}

/** Namespace names unique to this run, `tf-` prefixed, deleted when the test ends (whatever happened). */
export function namespaces (t: TestContext, ...suffixes: string[]): string[] {
  const tag = `tf-topo-${randomBytes(3).toString('hex')}`
  const names = suffixes.map(s => `${tag}-${s}`)
  t.after(() => {
    for (const ns of names) {
      try { sh('ip', 'netns', 'del', ns) } catch {}
    }
  })
  for (const ns of names) {
    sh('ip', 'netns', 'add', ns)
    ipn(ns, 'link', 'set', 'lo', 'up')
  }
  return names
}

export async function waitFor<T> (what: string, probe: () => T | undefined | false, timeoutMs = 2000): Promise<T> {
  const deadline = Date.now() + timeoutMs
  let last: unknown
  for (;;) {
    try {
      const v = probe()
      if (v !== undefined && v !== false) return v
    } catch (err) {
      last = err
    }
    if (Date.now() > deadline) throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what}`, { cause: last })
    await new Promise(resolve => setTimeout(resolve, 20))
  }
}

/** The graph as a consumer rebuilds it from the events, with the arrival time of each element. */
export class Replica {
  readonly nodes = new Map<string, GraphNode>()
  readonly edges = new Map<string, GraphEdge>()
  readonly seenAt = new Map<string, number>()
  readonly deletedAt = new Map<string, number>()
  events = 0

  apply (e: TopologyEvent): void {
    const t = Date.now()
    this.events++
    switch (e.Kind) {
      case 'HostSync':
        this.nodes.clear()
        this.edges.clear()
        for (const n of e.Nodes ?? []) this.nodes.set(n.ID, n)
        for (const x of e.Edges ?? []) this.edges.set(x.ID, x)
        break
      case 'NodeUpdated':
        if (e.Node !== undefined) { this.nodes.set(e.Node.ID, e.Node); this.seenAt.set(e.Node.ID, t) }
        break
      case 'EdgeUpdated':
        if (e.Edge !== undefined) { this.edges.set(e.Edge.ID, e.Edge); this.seenAt.set(e.Edge.ID, t) }
        break
      case 'NodeDeleted':
        if (e.Node !== undefined) { this.nodes.delete(e.Node.ID); this.deletedAt.set(e.Node.ID, t) }
        break
      case 'EdgeDeleted':
        if (e.Edge !== undefined) { this.edges.delete(e.Edge.ID); this.deletedAt.set(e.Edge.ID, t) }
        break
    }
  }

  host (): GraphNode | undefined {
    return [...this.nodes.values()].find(n => n.Metadata.Type === 'host')
  }

  netns (name: string): GraphNode | undefined {
    return [...this.nodes.values()].find(n => n.Metadata.Type === 'netns' && n.Metadata.Name === name)
  }

  /** Interfaces owned by a netns node, by name. */
  interfacesOf (nsName: string): Map<string, GraphNode> {
    const ns = this.netns(nsName)
    const out = new Map<string, GraphNode>()
    if (ns === undefined) return out
    for (const e of this.edges.values()) {
      const child = this.nodes.get(e.Child)
      if (e.Parent === ns.ID && e.Metadata.RelationType === 'ownership' && child !== undefined) out.set(String(child.Metadata.Name), child)
    }
    return out
  }

  /** Node ID → `ns` or `ns/interface` for the given namespaces and their interfaces. */
  labels (nsNames: string[]): Map<string, string> {
    const label = new Map<string, string>()
    const host = this.host()
    if (host !== undefined) label.set(host.ID, 'host')
    for (const ns of nsNames) {
      const node = this.netns(ns)
      if (node !== undefined) label.set(node.ID, ns)
      for (const [name, n] of this.interfacesOf(ns)) label.set(n.ID, `${ns}/${name}`)
    }
    return label
  }

  /** `parent -> child {metadata}` for every edge touching the given namespaces or their interfaces. */
  edgesAmong (nsNames: string[]): string[] {
    const label = this.labels(nsNames)
    label.delete(this.host()?.ID ?? '')
    const host = this.host()?.ID
    const name = (id: string): string => id === host ? 'host' : label.get(id) ?? `?${id}`
    return [...this.edges.values()]
      .filter(e => label.has(e.Parent) || label.has(e.Child))
      .map(e => `${name(e.Parent)} -> ${name(e.Child)} ${JSON.stringify(e.Metadata)}`)
      .sort()
  }

  /** `parent -> child {metadata}` for layer2 edges among the given namespaces' interfaces. */
  layer2Among (nsNames: string[]): string[] {
    return this.edgesAmong(nsNames).filter(e => e.includes('"RelationType":"layer2"'))
  }
}
