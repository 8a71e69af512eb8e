import type { GraphEdge, GraphNode } from '@topoflow/gremlin'

const labelKeys = new Set(['Type', 'IfIndex', 'State', 'TID', 'IPV4', 'IPV6'])

function shortId (id: string): string {
  return id.length > 8 ? id.slice(0, 8) : id
}

/** Go's `%v` for the few metadata values the label shows. */
function goValue (v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(goValue).join(' ')}]`
  if (typeof v === 'object' && v !== null) return JSON.stringify(v)
  return String(v)
}

function esc (s: string): string {
  return s.replaceAll('\\', '\\\\').replaceAll('"', '\\"')
}

function nameOf (n: Pick<GraphNode, 'Metadata'>): string {
  return typeof n.Metadata.Name === 'string' ? n.Metadata.Name : ''
}

/**
 * The graph in Graphviz DOT as Skydive writes it: a node titled `<Name>-<ID[:8]>` with Type, IfIndex,
 * State, TID, IPV4 and IPV6 lines; edges labelled with their RelationType, layer2 ones drawn both ways.
 */
export function graphToDot (nodes: readonly GraphNode[], edges: readonly GraphEdge[]): string {
  const out: string[] = ['digraph g {']
  const byId = new Map<string, GraphNode>()
  for (const n of nodes) {
    byId.set(n.ID, n)
    const title = `${nameOf(n)}-${shortId(n.ID)}`
    let label = title
    for (const [k, v] of Object.entries(n.Metadata)) if (labelKeys.has(k)) label += `\\n${k} = ${goValue(v)}`
    out.push(`"${esc(title)}" [label="${esc(label).replaceAll('\\\\n', '\\n')}"]`)
  }
  for (const e of edges) {
    const parent = byId.get(e.Parent)
    const child = byId.get(e.Child)
    if (parent === undefined || child === undefined) continue
    const relation = typeof e.Metadata.RelationType === 'string' ? e.Metadata.RelationType : ''
    const attrs = relation === '' ? '' : ` [label=${JSON.stringify(relation)},dir=${relation === 'layer2' ? 'both' : 'forward'}]`
    out.push(`"${esc(`${nameOf(parent)}-${shortId(parent.ID)}`)}" -> "${esc(`${nameOf(child)}-${shortId(child.ID)}`)}"${attrs}`)
  }
  out.push('}')
  return out.join('\n') + '\n'
}
