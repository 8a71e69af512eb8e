import { entryKey } from './matrix.ts'
import { csvHeader, type MatrixEntry, type MatrixResult } from './types.ts'

/** skydive-flow-matrix's CSV: the header, then one line per entry (values written as they are). */
export function toCsv (result: MatrixResult, opts: { listNoPeers?: boolean } = {}): string {
  const lines = [csvHeader, ...result.entries.map(entryKey)]
  if (opts.listNoPeers === true) {
    lines.push('peer not found for connection:')
    for (const u of result.unknown) lines.push(`${u.socket.Protocol} ${u.host} ${u.socket.RemotePort} ${JSON.stringify(u.socket)}`)
  }
  return lines.join('\n') + '\n'
}

/** Processes per host, for the DOT and SVG drawings. */
export function endpointsByHost (entries: MatrixEntry[]): Map<string, Set<string>> {
  const hosts = new Map<string, Set<string>>()
  const add = (host: string, name: string): void => {
    let names = hosts.get(host)
    if (names === undefined) hosts.set(host, names = new Set())
    names.add(name)
  }
  for (const e of entries) { add(e.server, e.serverProcName); add(e.client, e.clientProcName) }
  return hosts
}

export function edgeLabel (e: MatrixEntry): string {
  return `${e.protocol} : ${e.serverIp}:${e.port}`
}

function q (s: string): string {
  return `"${s.replaceAll('\\', '\\\\').replaceAll('"', '\\"')}"`
}

/** Graphviz source drawn as skydive-flow-matrix draws it: a cluster per host, a node per process. */
export function toDot (result: MatrixResult): string {
  const out = ['// Skydive Flow matrix repport', 'digraph {', '\toverlap=false', '\tranksep=1', '\tnodesep=0.7']
  for (const [host, names] of endpointsByHost(result.entries)) {
    out.push(`\tsubgraph ${q(`cluster_${host}`)} {`)
    out.push(`\t\tlabel=${q(host)}`, '\t\tfontsize="24"', '\t\tcolor="gray50"', '\t\tstyle="filled"', '\t\tfillcolor="gray90"')
    for (const name of [...names].sort()) {
      out.push(`\t\t${q(host + name)} [label=${q(`${name}\\n\\n${host}`).replaceAll('\\\\n', '\\n')} color=orangered fillcolor=orange shape=component style=filled]`)
    }
    out.push('\t}')
  }
  for (const e of result.entries) {
    out.push(`\t${q(e.client + e.clientProcName)} -> ${q(e.server + e.serverProcName)} [label=${q(edgeLabel(e))}]`)
  }
  out.push('}')
  return out.join('\n') + '\n'
}

export function toJson (result: MatrixResult): string {
  return JSON.stringify(result.entries)
}
