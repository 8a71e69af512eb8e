import { spawn } from 'node:child_process'
import { TopoflowError } from '@topoflow/core'
import { edgeLabel, endpointsByHost } from './format.ts'
import type { MatrixResult } from './types.ts'

function esc (s: string): string {
  return s.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;').replaceAll('"', '&quot;')
}

const box = { width: 170, height: 44, gap: 26 }
const cluster = { pad: 22, title: 34, gap: 150 }

/**
 * Draws the matrix as SVG without Graphviz: one column per host (the cluster), one box per process,
 * client → server arrows labelled like skydive-flow-matrix's edges. Deterministic, so it can be tested.
 */
export function renderSvg (result: MatrixResult): string {
  const hosts = [...endpointsByHost(result.entries)].sort(([a], [b]) => a.localeCompare(b))
  const centers = new Map<string, { x: number, y: number }>()
  const parts: string[] = []
  let x = 20
  let maxHeight = 0
  for (const [host, names] of hosts) {
    const sorted = [...names].sort()
    const width = box.width + 2 * cluster.pad
    const height = cluster.title + sorted.length * (box.height + box.gap) + cluster.pad
    maxHeight = Math.max(maxHeight, height)
    parts.push(`<g class="cluster"><rect x="${x}" y="20" width="${width}" height="${height}" fill="#e5e5e5" stroke="#7f7f7f" rx="6"/>` +
      `<text x="${x + width / 2}" y="46" text-anchor="middle" font-size="18">${esc(host)}</text></g>`)
    sorted.forEach((name, i) => {
      const bx = x + cluster.pad
      const by = 20 + cluster.title + i * (box.height + box.gap) + box.gap / 2
      centers.set(host + '\u0000' + name, { x: bx + box.width / 2, y: by + box.height / 2 })
      parts.push(`<g class="node"><rect x="${bx}" y="${by}" width="${box.width}" height="${box.height}" fill="orange" stroke="orangered"/>` +
        `<text x="${bx + box.width / 2}" y="${by + box.height / 2 + 5}" text-anchor="middle" font-size="14">${esc(name)}</text></g>`)
    })
    x += width + cluster.gap
  }
  for (const e of result.entries) {
    const from = centers.get(e.client + '\u0000' + e.clientProcName)
    const to = centers.get(e.server + '\u0000' + e.serverProcName)
    if (from === undefined || to === undefined) continue
    // bend the line so that edges between the same columns and their labels do not overlap
    const mx = (from.x + to.x) / 2
    const my = (from.y + to.y) / 2 - (from.x === to.x ? 0 : 30)
    const cx = from.x === to.x ? from.x + 120 : mx
    parts.push(`<g class="edge"><path d="M${from.x},${from.y} Q${cx},${my} ${to.x},${to.y}" fill="none" stroke="black" marker-end="url(#arrow)"/>` +
      `<text x="${cx}" y="${my - 4}" text-anchor="middle" font-size="12">${esc(edgeLabel(e))}</text></g>`)
  }
  const width = Math.max(x - cluster.gap + 20, 200)
  const height = maxHeight + 40
  return `<?xml version="1.0" encoding="UTF-8"?>\n<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif">\n` +
    '<title>Flow matrix</title>\n' +
    '<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="8" markerHeight="8" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z"/></marker></defs>\n' +
    parts.join('\n') + '\n</svg>\n'
}

/** Renders DOT with Graphviz's `dot -Tsvg`; rejects with a clear error when Graphviz is not installed. */
export async function renderWithGraphviz (dot: string, command = 'dot'): Promise<string> {
  return await new Promise((resolve, reject) => {
    const child = spawn(command, ['-Tsvg'], { stdio: ['pipe', 'pipe', 'pipe'] })
    const out: Buffer[] = []
    const err: Buffer[] = []
    child.stdout.on('data', (b: Buffer) => out.push(b))
    child.stderr.on('data', (b: Buffer) => err.push(b))
    child.on('error', (e: NodeJS.ErrnoException) => {
      reject(new TopoflowError('TOPOFLOW_ERR_NOT_IMPLEMENTED', e.code === 'ENOENT'
        ? `Graphviz "${command}" is not installed (install graphviz, or omit --graphviz to use the built-in renderer)`
        : `cannot run ${command}: ${e.message}`, { cause: e }))
    })
    child.on('close', (code) => {
      if (code === 0) resolve(Buffer.concat(out).toString('utf8'))
      else reject(new TopoflowError('TOPOFLOW_ERR_INTERNAL', `${command} -Tsvg exited with ${code}: ${Buffer.concat(err).toString('utf8').trim()}`))
    })
    child.stdin.on('error', () => { /* reported by 'close' */ })
    child.stdin.end(dot)
  })
}
