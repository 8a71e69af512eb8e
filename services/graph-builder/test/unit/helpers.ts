import { readFileSync } from 'node:fs'
import type { BusMessage } from '@topoflow/core'
import { toInputs } from '../../src/app.ts'
import { GraphEngine, type GraphEngineOptions } from '../../src/graph/engine.ts'
import type { ChangeRecord, GraphStore } from '../../src/graph/store.ts'
import type { GraphInput, GraphNode } from '../../src/types.ts'

export const T0 = 1700000000000

/** A recorded stream: `[{ topic, value }]` as the bus delivers it. */
export function loadStream (name: string): Array<{ topic: string, value: unknown }> {
  return JSON.parse(readFileSync(new URL(`../fixtures/${name}`, import.meta.url), 'utf8')) as Array<{ topic: string, value: unknown }>
}

export function inputsOf (stream: Array<{ topic: string, value: unknown }>): GraphInput[] {
  return stream.flatMap((m) => toInputs({ topic: m.topic, key: null, value: m.value } as BusMessage<unknown>).map((i) => i.input))
}

export function newEngine (opts: Partial<GraphEngineOptions> = {}): GraphEngine {
  return new GraphEngine({ origin: 'analyzer.test', hostTimeoutMs: 60_000, now: () => T0, ...opts })
}

export function applyAll (engine: GraphEngine, inputs: GraphInput[]): ChangeRecord[] {
  return inputs.flatMap((i) => engine.apply(i))
}

export function label (n: GraphNode | undefined): string {
  if (n === undefined) return '?'
  const host = n.Host === '' ? '' : `${n.Host}/`
  return `${host}${String(n.Metadata.Type)}:${String(n.Metadata.Name)}`
}

/** The graph as sorted readable lines, so a test can compare it whole. */
export function summary (store: GraphStore): { nodes: string[], edges: string[] } {
  const nodes = [...store.nodes()].map(label).sort()
  const edges = [...store.edges()].map((e) => {
    const type = typeof e.Metadata.Type === 'string' ? `/${e.Metadata.Type}` : ''
    return `${label(store.getNode(e.Parent))} -${String(e.Metadata.RelationType)}${type}-> ${label(store.getNode(e.Child))}`
  }).sort()
  return { nodes, edges }
}

export function findNode (store: GraphStore, pred: (n: GraphNode) => boolean): GraphNode {
  const n = [...store.nodes()].find(pred)
  if (n === undefined) throw new Error('node not found')
  return n
}

export function byName (store: GraphStore, host: string, name: string, type?: string): GraphNode {
  return findNode(store, (n) => n.Host === host && n.Metadata.Name === name && (type === undefined || n.Metadata.Type === type))
}
