import { TopoflowError } from '@topoflow/core'
import type { Metadata } from '../types.ts'
import { uuidv5 } from '../uuid.ts'

/** A static node of the fabric: ID = uuidv5(OID, "fabric" + NAME), TID = ID, `Probe: fabric`. */
export interface FabricNode {
  name: string
  id: string
  metadata: Metadata
}

/** A link between two fabric nodes: `->` makes ownership + layer2, `-->` layer2 only. */
export interface FabricLink {
  parent: string
  child: string
  ownership: boolean
  linkMetadata: Metadata
}

/**
 * `PARENT -> *[k=v]/IFNAME`: links the fabric node to every node named IFNAME whose parent (through
 * any edge) matches the `[k=v]` filter, as soon as such an edge appears.
 */
export interface FabricWildcard {
  fabricNode: string
  parentFilter: Record<string, string>
  childFilter: Record<string, string>
  linkMetadata: Metadata
}

export interface FabricSpec {
  nodes: FabricNode[]
  links: FabricLink[]
  wildcards: FabricWildcard[]
}

class LineError extends Error {}

/**
 * Parses `analyzer.topology.fabric` in Skydive's syntax. Any line that does not parse throws
 * TOPOFLOW_ERR_FABRIC naming the line, its number and the reason: a bad fabric must stop start-up.
 */
export function parseFabric (lines: readonly string[]): FabricSpec {
  const nodes = new Map<string, FabricNode>()
  const links: FabricLink[] = []
  const wildcards: FabricWildcard[] = []
  const linkKeys = new Set<string>()

  lines.forEach((line, index) => {
    try {
      parseLine(line, nodes, links, wildcards, linkKeys)
    } catch (err) {
      if (!(err instanceof LineError)) throw err
      throw new TopoflowError('TOPOFLOW_ERR_FABRIC',
        `analyzer.topology.fabric line ${index + 1} "${line}": ${err.message}`,
        { context: { stage: 'fabric', line: index + 1, text: line, reason: err.message } })
    }
  })
  return { nodes: [...nodes.values()], links, wildcards }
}

function parseLine (line: string, nodes: Map<string, FabricNode>, links: FabricLink[], wildcards: FabricWildcard[], linkKeys: Set<string>): void {
  if (typeof line !== 'string') throw new LineError('expected a string')
  let l2Only = false
  let parts = line.split('-->')
  if (parts.length === 2) l2Only = true
  else parts = line.split('->')
  if (parts.length !== 2) throw new LineError('a link must have exactly two endpoints, PARENT -> CHILD or PARENT --> CHILD')
  const parentDef = (parts[0] as string).trim()
  let childDef = (parts[1] as string).trim()
  if (parentDef === '' || childDef === '') throw new LineError('a link must have two endpoints, one is empty')

  const linkMetadata: Metadata = { Type: 'fabric' }
  if (childDef.startsWith('[')) {
    const end = childDef.indexOf(']')
    if (end < 0) throw new LineError('link metadata "[" is not closed by "]"')
    Object.assign(linkMetadata, parseAttributes(childDef.slice(1, end)))
    childDef = childDef.slice(end + 1).trim()
    if (childDef === '') throw new LineError('the child endpoint is missing after the link metadata')
  }

  if (parentDef.startsWith('*')) throw new LineError('a wildcard (*) may only be the child of a link, not the parent')

  const parent = defineNode(parentDef, nodes)
  if (childDef.startsWith('*')) {
    const slash = childDef.indexOf('/')
    if (slash < 0) throw new LineError(`wildcard "${childDef}" must name the interface: *[k=v]/IFNAME`)
    const parentFilter = parseNodeDef(childDef.slice(0, slash))
    const childFilter = parseNodeDef(childDef.slice(slash + 1))
    if (childFilter.name === '*') throw new LineError('the interface of a wildcard cannot itself be a wildcard')
    wildcards.push({ fabricNode: parent.id, parentFilter: asFilter(parentFilter.attributes), childFilter: asFilter({ Name: childFilter.name, ...childFilter.attributes }), linkMetadata })
    return
  }
  const child = defineNode(childDef, nodes)
  if (child.id === parent.id) throw new LineError('a node cannot be linked to itself')
  // Skydive links two fabric nodes once, whatever later lines say.
  const key = `${parent.id}/${child.id}`
  if (linkKeys.has(key)) return
  linkKeys.add(key)
  links.push({ parent: parent.id, child: child.id, ownership: !l2Only, linkMetadata })
}

/** Same NAME = same node; attributes from later lines add keys but never overwrite earlier ones. */
function defineNode (def: string, nodes: Map<string, FabricNode>): FabricNode {
  const { name, attributes } = parseNodeDef(def)
  const existing = nodes.get(name)
  if (existing !== undefined) {
    for (const [k, v] of Object.entries(attributes)) if (!(k in existing.metadata)) existing.metadata[k] = v
    return existing
  }
  const id = uuidv5('fabric' + name)
  const metadata: Metadata = { Name: name, Type: 'device', ...attributes, Probe: 'fabric', TID: id }
  const node = { name, id, metadata }
  nodes.set(name, node)
  return node
}

/** `NAME[k=v, k2="v 2"]` → name and string attributes. */
function parseNodeDef (def: string): { name: string, attributes: Record<string, string> } {
  const trimmed = def.trim()
  const open = trimmed.indexOf('[')
  if (open < 0) {
    if (trimmed.includes(']')) throw new LineError(`"${trimmed}": "]" without "["`)
    if (trimmed === '') throw new LineError('a node has no name')
    if (/\s/.test(trimmed)) throw new LineError(`node name "${trimmed}" contains spaces`)
    return { name: trimmed, attributes: {} }
  }
  if (!trimmed.endsWith(']')) throw new LineError(`"${trimmed}": attributes "[...]" must close the node definition`)
  const name = trimmed.slice(0, open).trim()
  if (name === '') throw new LineError(`"${trimmed}": a node definition needs a name before "["`)
  if (/\s/.test(name)) throw new LineError(`node name "${name}" contains spaces`)
  const inner = trimmed.slice(open + 1, -1)
  if (inner.includes('[') || inner.includes(']')) throw new LineError(`"${trimmed}": nested brackets`)
  return { name, attributes: parseAttributes(inner) }
}

function parseAttributes (text: string): Record<string, string> {
  const out: Record<string, string> = {}
  if (text.trim() === '') return out
  for (const pair of text.split(',')) {
    const kv = pair.trim().split('=')
    if (kv.length !== 2) throw new LineError(`attributes must be k=v pairs, got "${pair.trim()}"`)
    const key = unquote(kv[0] as string)
    if (key === '') throw new LineError(`attribute "${pair.trim()}" has an empty key`)
    out[key] = unquote(kv[1] as string)
  }
  return out
}

function unquote (s: string): string {
  return s.trim().replace(/^"(.*)"$/, '$1')
}

function asFilter (attributes: Record<string, string>): Record<string, string> {
  return { ...attributes }
}
