// Draws a Layout into the <svg>: owner boxes, edges, nodes. Handles pan (drag), zoom (wheel,
// buttons), selection (click) and folding an owner (double click). Redrawn whole on each change;
// the pan/zoom transform survives redraws.

import { s } from './dom.js'
import { formatValue, truncate } from './format.js'
import { sizes } from './layout.js'
import { nodeStyle } from './node-style.js'

/**
 * @typedef {import('./layout.js').GraphNode} GraphNode
 * @typedef {import('./layout.js').Layout} Layout
 * @typedef {{
 *   nodes: Map<string, GraphNode>,
 *   layout: Layout,
 *   selectedId: string | null,
 *   highlight: Set<string> | null,
 *   highlightEdges: Set<string> | null,
 *   context: Set<string>,
 * }} Scene
 */

/** @param {Record<string, unknown>} m */
function activeCaptures (m) {
  return Array.isArray(m.Captures) ? m.Captures.filter((c) => typeof c === 'object' && c !== null && (c.State === undefined || c.State === 'active')).length : 0
}

/** @param {Record<string, unknown>} m */
function subtitle (m) {
  const v4 = Array.isArray(m.IPV4) ? m.IPV4[0] : undefined
  if (typeof v4 === 'string') return v4
  const v6 = Array.isArray(m.IPV6) ? m.IPV6.find((a) => typeof a === 'string' && !a.startsWith('fe80')) : undefined
  if (typeof v6 === 'string') return truncate(v6, 22)
  return typeof m.Type === 'string' ? m.Type : ''
}

/** @param {GraphNode} n */
function tooltip (n) {
  const m = n.Metadata
  const lines = [`${formatValue(m.Name)} (${formatValue(m.Type)})`]
  for (const key of ['State', 'MAC', 'IPV4', 'IPV6', 'MTU', 'Path']) if (m[key] !== undefined) lines.push(`${key}: ${formatValue(m[key])}`)
  if (n.Host !== undefined) lines.push(`Host: ${n.Host}`)
  return lines.join('\n')
}

export class GraphView {
  /** @type {SVGSVGElement} */
  svg
  /** @type {SVGGElement} */
  #viewport
  #k = 1
  #tx = 0
  #ty = 0
  /** @type {Layout | undefined} */
  #layout
  /** @type {{ onSelect: (id: string | null) => void, onToggle: (id: string) => void }} */
  #handlers
  /** set once the user pans or zooms: from then on a resize keeps their view */
  #userMoved = false

  /**
   * @param {SVGSVGElement} svg
   * @param {{ onSelect: (id: string | null) => void, onToggle: (id: string) => void }} handlers
   */
  constructor (svg, handlers) {
    this.svg = svg
    this.#handlers = handlers
    this.#viewport = /** @type {SVGGElement} */ (s('g', { class: 'viewport' }))
    svg.replaceChildren(this.#viewport)
    this.#bindPointer()
    new ResizeObserver(() => { if (!this.#userMoved) this.fit() }).observe(svg)
  }

  /** @param {Scene} scene */
  render (scene) {
    const { layout, nodes, selectedId, highlight, highlightEdges, context } = scene
    this.#layout = layout
    const dimming = highlight !== null
    const boxes = s('g', { class: 'boxes' })
    for (const b of layout.boxes) {
      const n = nodes.get(b.id)
      const color = n === undefined ? '#64748b' : nodeStyle(n.Metadata).color
      boxes.append(s('rect', {
        class: `box depth-${Math.min(b.depth, 3)}${dimming && !highlight.has(b.id) ? ' dimmed' : ''}`,
        'data-owner': b.id,
        x: b.x, y: b.y, width: b.w, height: b.h, rx: 12,
        style: `--tint: ${color}`
      }))
    }

    const edges = s('g', { class: 'edges' })
    for (const e of layout.edges) {
      const a = layout.nodes.get(e.source)
      const b = layout.nodes.get(e.target)
      if (a === undefined || b === undefined) continue
      const lit = highlightEdges !== null && e.edgeIds.some((id) => highlightEdges.has(id))
      const adjacent = selectedId !== null && (e.source === selectedId || e.target === selectedId)
      const dim = dimming && !lit && !(highlight.has(e.source) && highlight.has(e.target))
      const cls = ['edge', `edge-${e.kind}`, e.contained ? 'contained' : '', adjacent ? 'adjacent' : '', lit ? 'lit' : '', dim ? 'dimmed' : '']
      // ownership links bow out of the straight line so they do not run over sibling icons
      const d = e.kind === 'ownership'
        ? `M${a.x},${a.y} Q${(a.x + b.x) / 2 - (b.y - a.y) * 0.15},${(a.y + b.y) / 2 + (b.x - a.x) * 0.15} ${b.x},${b.y}`
        : `M${a.x},${a.y} L${b.x},${b.y}`
      edges.append(s('path', { class: cls.filter(Boolean).join(' '), d, 'data-edge': e.edgeIds.join(' ') }))
    }

    const nodeLayer = s('g', { class: 'nodes' })
    for (const p of layout.nodes.values()) {
      const n = nodes.get(p.id)
      if (n === undefined) continue
      const m = n.Metadata
      const style = nodeStyle(m)
      const state = typeof m.State === 'string' ? m.State : ''
      const cls = ['node', p.boxed ? 'owner' : 'leaf',
        p.id === selectedId ? 'selected' : '',
        dimming && highlight.has(p.id) && !context.has(p.id) ? 'highlighted' : '',
        (dimming && !highlight.has(p.id)) || context.has(p.id) ? 'dimmed' : '',
        state === 'DOWN' || state === 'LOWERLAYERDOWN' ? 'down' : '',
        p.collapsed ? 'collapsed' : '']
      const name = typeof m.Name === 'string' ? m.Name : n.ID.slice(0, 8)
      const g = s('g', {
        class: cls.filter(Boolean).join(' '),
        'data-id': n.ID,
        'data-type': typeof m.Type === 'string' ? m.Type : '',
        transform: `translate(${p.x},${p.y})`,
        style: `--node: ${style.color}`
      },
      s('title', {}, tooltip(n)),
      s('circle', { class: 'node-halo', r: sizes.nodeR + 6 }),
      s('circle', { class: 'node-body', r: sizes.nodeR }),
      s('path', { class: 'node-glyph', d: style.glyph, transform: 'translate(-8,-8)' }))
      if (p.boxed) {
        g.append(
          s('text', { class: 'node-label owner-label', x: sizes.nodeR + 10, y: -2 }, truncate(name, 34)),
          s('text', { class: 'node-sub', x: sizes.nodeR + 10, y: 12 }, truncate(typeof m.Type === 'string' ? m.Type : style.label, 34)))
      } else {
        g.append(
          s('text', { class: 'node-label', y: sizes.nodeR + 15, 'text-anchor': 'middle' }, truncate(name, 15)),
          s('text', { class: 'node-sub', y: sizes.nodeR + 28, 'text-anchor': 'middle' }, truncate(subtitle(m), 18)))
      }
      const captures = activeCaptures(m)
      if (captures > 0) {
        g.append(s('circle', { class: 'capture-badge', cx: sizes.nodeR * 0.72, cy: -sizes.nodeR * 0.72, r: 5 },
          s('title', {}, `${captures} active capture${captures > 1 ? 's' : ''}`)))
      }
      if (p.collapsed) {
        g.append(s('g', { class: 'fold-badge', transform: `translate(${-sizes.nodeR - 4},${-sizes.nodeR - 2})` },
          s('rect', { x: -12, y: -8, width: 24, height: 16, rx: 8 }),
          s('text', { y: 4, 'text-anchor': 'middle' }, `+${p.hidden}`)))
      }
      nodeLayer.append(g)
    }
    this.#viewport.replaceChildren(boxes, edges, nodeLayer)
    this.#apply()
  }

  /** Scales and centres the whole drawing in the view. */
  fit () {
    this.#userMoved = false
    const layout = this.#layout
    const { width, height } = this.svg.getBoundingClientRect()
    if (layout === undefined || width === 0 || height === 0) return
    const margin = 40
    const w = Math.max(layout.width, 1) + 2 * margin
    const h = Math.max(layout.height, 1) + 2 * margin
    this.#k = Math.min(width / w, height / h, 1.25)
    this.#tx = (width - layout.width * this.#k) / 2
    this.#ty = Math.max(margin * this.#k, (height - layout.height * this.#k) / 2)
    this.#apply()
  }

  /** @param {number} factor @param {number} [cx] @param {number} [cy] zoom centre in view pixels */
  zoomBy (factor, cx, cy) {
    this.#userMoved = true
    const rect = this.svg.getBoundingClientRect()
    const x = cx ?? rect.width / 2
    const y = cy ?? rect.height / 2
    const k = Math.min(4, Math.max(0.08, this.#k * factor))
    this.#tx = x - (x - this.#tx) * (k / this.#k)
    this.#ty = y - (y - this.#ty) * (k / this.#k)
    this.#k = k
    this.#apply()
  }

  /** Pans so that a node is in view (when it is not already). @param {string} id */
  reveal (id) {
    const p = this.#layout?.nodes.get(id)
    if (p === undefined) return
    const rect = this.svg.getBoundingClientRect()
    const x = p.x * this.#k + this.#tx
    const y = p.y * this.#k + this.#ty
    if (x > 40 && y > 40 && x < rect.width - 40 && y < rect.height - 40) return
    this.#tx = rect.width / 2 - p.x * this.#k
    this.#ty = rect.height / 2 - p.y * this.#k
    this.#apply()
  }

  #apply () {
    this.#viewport.setAttribute('transform', `translate(${this.#tx},${this.#ty}) scale(${this.#k})`)
  }

  #bindPointer () {
    const svg = this.svg
    /** @type {{ x: number, y: number, tx: number, ty: number, moved: boolean, id: number } | undefined} */
    let drag
    /** @type {{ id: string | null, at: number }} */
    let lastClick = { id: null, at: 0 }
    svg.addEventListener('wheel', (ev) => {
      ev.preventDefault()
      const rect = svg.getBoundingClientRect()
      this.zoomBy(Math.exp(-ev.deltaY * 0.0015), ev.clientX - rect.left, ev.clientY - rect.top)
    }, { passive: false })
    svg.addEventListener('pointerdown', (ev) => {
      if (ev.button !== 0) return
      drag = { x: ev.clientX, y: ev.clientY, tx: this.#tx, ty: this.#ty, moved: false, id: ev.pointerId }
    })
    svg.addEventListener('pointermove', (ev) => {
      if (drag === undefined || ev.pointerId !== drag.id) return
      const dx = ev.clientX - drag.x
      const dy = ev.clientY - drag.y
      if (!drag.moved && Math.hypot(dx, dy) < 4) return
      if (!drag.moved) svg.setPointerCapture(ev.pointerId)
      drag.moved = true
      this.#userMoved = true
      svg.classList.add('panning')
      this.#tx = drag.tx + dx
      this.#ty = drag.ty + dy
      this.#apply()
    })
    svg.addEventListener('pointerup', (ev) => {
      const wasDrag = drag?.moved === true
      drag = undefined
      svg.classList.remove('panning')
      if (wasDrag) return
      const id = this.#nodeAt(ev.target)
      // our own double click: a click redraws the graph, so the browser's dblclick would see two
      // different elements and never fire
      const now = ev.timeStamp
      if (id !== null && lastClick.id === id && now - lastClick.at < 400) {
        lastClick = { id: null, at: 0 }
        this.#handlers.onToggle(id)
        return
      }
      lastClick = { id, at: now }
      this.#handlers.onSelect(id)
    })
    svg.addEventListener('pointercancel', () => { drag = undefined; svg.classList.remove('panning') })
  }

  /** The node id under an event target: a node, or the owner of a box. @param {EventTarget | null} target */
  #nodeAt (target) {
    if (!(target instanceof Element)) return null
    const node = target.closest('.node')
    if (node !== null) return node.getAttribute('data-id')
    return null
  }
}
