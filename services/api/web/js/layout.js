// Nested layout of the topology: ownership edges (host → netns → interface, pod → container …)
// become boxes inside boxes, leaves sit on a grid inside their owner's box, and every other edge
// (layer2, k8s, …) is drawn as a line between the placed nodes. Pure: no DOM, no clock, so the same
// graph always gives the same picture and live updates do not shuffle it.

/**
 * @typedef {{ ID: string, Metadata: Record<string, unknown>, Host?: string, CreatedAt?: number, UpdatedAt?: number }} GraphNode
 * @typedef {GraphNode & { Parent: string, Child: string }} GraphEdge
 * @typedef {{ id: string, x: number, y: number, boxed: boolean, collapsed: boolean, hidden: number, depth: number }} PlacedNode
 * @typedef {{ id: string, x: number, y: number, w: number, h: number, depth: number }} Box
 * @typedef {{ key: string, source: string, target: string, kind: 'ownership' | 'layer2' | 'other', edgeIds: string[], contained: boolean }} PlacedEdge
 * @typedef {{ nodes: Map<string, PlacedNode>, boxes: Box[], edges: PlacedEdge[], width: number, height: number }} Layout
 * @typedef {{ w: number, h: number, leaves: string[], boxes: string[], cols: number, boxSpots: Map<string, { x: number, y: number }> }} Measure
 */

/** Sizes in SVG user units; the view reads them to draw boxes and labels consistently. */
export const sizes = Object.freeze({
  cellW: 108, // width of one leaf (icon + label)
  cellH: 78,
  header: 46, // room at the top of a box for its owner's icon and name
  pad: 12,
  gap: 14,
  rootGap: 36,
  nodeR: 16,
  boxIconX: 24,
  boxIconY: 23
})

const aspect = 1.7 // wanted width/height of a block of children

/** @param {GraphNode | undefined} n */
function nameOf (n) {
  const name = n?.Metadata.Name
  return typeof name === 'string' ? name : (n?.ID ?? '')
}

/** @param {Record<string, unknown>} metadata */
export function relationOf (metadata) {
  const rel = metadata.RelationType
  if (rel === 'ownership' || rel === 'layer2') return rel
  return 'other'
}

const collator = new Intl.Collator('en', { numeric: true, sensitivity: 'base' })

/**
 * Lays the graph out.
 * @param {GraphNode[]} nodes
 * @param {GraphEdge[]} edges
 * @param {{ collapsed?: Set<string> }} [options] owners whose content is folded into them
 * @returns {Layout}
 */
export function layoutGraph (nodes, edges, options = {}) {
  const collapsed = options.collapsed ?? new Set()
  /** @type {Map<string, GraphNode>} */
  const byId = new Map(nodes.map((n) => [n.ID, n]))
  const byName = (/** @type {string} */ a, /** @type {string} */ b) =>
    collator.compare(nameOf(byId.get(a)), nameOf(byId.get(b))) || (a < b ? -1 : a > b ? 1 : 0)
  const sortedEdges = [...edges].sort((a, b) => (a.ID < b.ID ? -1 : a.ID > b.ID ? 1 : 0))

  /** @type {Map<string, string>} child → owner */
  const owner = new Map()
  for (const e of sortedEdges) {
    if (relationOf(e.Metadata) !== 'ownership') continue
    if (!byId.has(e.Parent) || !byId.has(e.Child) || e.Parent === e.Child || owner.has(e.Child)) continue
    if (isAncestor(owner, e.Child, e.Parent)) continue // a cycle would loop forever
    owner.set(e.Child, e.Parent)
  }
  /** @type {Map<string, string[]>} */
  const children = new Map()
  for (const [child, parent] of owner) {
    const list = children.get(parent)
    if (list === undefined) children.set(parent, [child])
    else list.push(child)
  }

  // a node hidden by a collapsed owner is drawn as its topmost collapsed ancestor
  /** @type {Map<string, string>} */
  const shownAs = new Map()
  for (const n of nodes) {
    let rep = n.ID
    for (let a = owner.get(n.ID); a !== undefined; a = owner.get(a)) if (collapsed.has(a)) rep = a
    shownAs.set(n.ID, rep)
  }
  /** @type {Map<string, number>} */
  const hiddenCount = new Map()
  for (const [id, rep] of shownAs) if (rep !== id) hiddenCount.set(rep, (hiddenCount.get(rep) ?? 0) + 1)

  // layer2 and other links between siblings, to keep connected leaves next to each other
  /** @type {Map<string, Set<string>>} */
  const links = new Map()
  for (const e of sortedEdges) {
    if (relationOf(e.Metadata) === 'ownership' || !byId.has(e.Parent) || !byId.has(e.Child)) continue
    for (const [a, b] of [[e.Parent, e.Child], [e.Child, e.Parent]]) {
      const set = links.get(/** @type {string} */ (a)) ?? new Set()
      set.add(/** @type {string} */ (b))
      links.set(/** @type {string} */ (a), set)
    }
  }

  /** @param {string} id */
  const isBoxed = (id) => !collapsed.has(id) && (children.get(id)?.length ?? 0) > 0

  /** @type {Map<string, Measure>} */
  const measures = new Map()

  /** @param {string} id @returns {{ w: number, h: number }} */
  const sizeOf = (id) => {
    if (!isBoxed(id)) return { w: sizes.cellW, h: sizes.cellH }
    const m = measure(id)
    return { w: m.w, h: m.h }
  }

  /** @param {string} id @returns {Measure} */
  const measure = (id) => {
    const known = measures.get(id)
    if (known !== undefined) return known
    const kids = children.get(id) ?? []
    const leaves = orderLeaves(kids.filter((k) => !isBoxed(k)), links, byName)
    const boxes = kids.filter(isBoxed).sort(byName)
    const block = packBlock(leaves.length, boxes.map((b) => ({ id: b, ...sizeOf(b) })), sizes.gap)
    const m = {
      w: Math.max(block.w + 2 * sizes.pad, minBoxWidth(byId.get(id))),
      h: block.h + sizes.header + sizes.pad,
      leaves,
      boxes,
      cols: block.cols,
      boxSpots: block.spots
    }
    measures.set(id, m)
    return m
  }

  /** @type {Map<string, PlacedNode>} */
  const placed = new Map()
  /** @type {Box[]} */
  const boxList = []

  /** @param {string} id @param {number} x @param {number} y @param {number} depth */
  const place = (id, x, y, depth) => {
    if (!isBoxed(id)) {
      placed.set(id, {
        id,
        x: x + sizes.cellW / 2,
        y: y + sizes.nodeR + 10,
        boxed: false,
        collapsed: collapsed.has(id) && (children.get(id)?.length ?? 0) > 0,
        hidden: hiddenCount.get(id) ?? 0,
        depth
      })
      return
    }
    const m = measure(id)
    boxList.push({ id, x, y, w: m.w, h: m.h, depth })
    placed.set(id, { id, x: x + sizes.boxIconX, y: y + sizes.boxIconY, boxed: true, collapsed: false, hidden: 0, depth })
    const left = x + sizes.pad
    const top = y + sizes.header
    m.leaves.forEach((leaf, i) => {
      place(leaf, left + (i % m.cols) * sizes.cellW, top + Math.floor(i / m.cols) * sizes.cellH, depth + 1)
    })
    for (const b of m.boxes) {
      const spot = /** @type {{ x: number, y: number }} */ (m.boxSpots.get(b))
      place(b, left + spot.x, top + spot.y, depth + 1)
    }
  }

  // top level: loose nodes (fabric, k8s…) on a grid, then hosts and other owners by type and name
  const roots = nodes.map((n) => n.ID).filter((id) => !owner.has(id))
  const rank = (/** @type {string} */ id) => (byId.get(id)?.Metadata.Type === 'host' ? 0 : isBoxed(id) ? 1 : 2)
  roots.sort((a, b) => rank(a) - rank(b) ||
    collator.compare(String(byId.get(a)?.Metadata.Type ?? ''), String(byId.get(b)?.Metadata.Type ?? '')) || byName(a, b))
  const rootBoxes = roots.filter(isBoxed)
  const rootLeaves = orderLeaves(roots.filter((r) => !isBoxed(r)), links, byName)
  const top = packBlock(rootLeaves.length, rootBoxes.map((b) => ({ id: b, ...sizeOf(b) })), sizes.rootGap)
  for (const b of rootBoxes) {
    const spot = /** @type {{ x: number, y: number }} */ (top.spots.get(b))
    place(b, spot.x, spot.y, 0)
  }
  rootLeaves.forEach((leaf, i) => {
    place(leaf, (i % top.cols) * sizes.cellW, Math.floor(i / top.cols) * sizes.cellH, 0)
  })

  return { nodes: placed, boxes: boxList, edges: placeEdges(sortedEdges, byId, shownAs, owner, isBoxed), width: top.w, height: top.h }
}

/** @param {Map<string, string>} owner @param {string} candidate @param {string} id */
function isAncestor (owner, candidate, id) {
  for (let a = /** @type {string | undefined} */ (id); a !== undefined; a = owner.get(a)) if (a === candidate) return true
  return false
}

/** A box must be wide enough for its owner's name and type in the header. @param {GraphNode | undefined} n */
function minBoxWidth (n) {
  const name = Math.min(34, nameOf(n).length)
  const type = Math.min(34, String(n?.Metadata.Type ?? '').length)
  return sizes.boxIconX + sizes.nodeR + 10 + Math.max(name * 7.8, type * 6.2) + sizes.pad
}

/**
 * Orders sibling leaves so that linked ones (bridge and its ports, veth pairs) are adjacent:
 * connected groups first (largest first, walked from their best-connected member), then the rest by name.
 * @param {string[]} ids
 * @param {Map<string, Set<string>>} links
 * @param {(a: string, b: string) => number} byName
 */
function orderLeaves (ids, links, byName) {
  const inSet = new Set(ids)
  const sorted = [...ids].sort(byName)
  const degree = (/** @type {string} */ id) => [...(links.get(id) ?? [])].filter((x) => inSet.has(x)).length
  const seen = new Set()
  /** @type {string[][]} */
  const groups = []
  for (const id of sorted) {
    if (seen.has(id)) continue
    // collect the component, then walk it breadth-first from its hub
    const comp = []
    const stack = [id]
    seen.add(id)
    while (stack.length > 0) {
      const cur = /** @type {string} */ (stack.pop())
      comp.push(cur)
      for (const next of links.get(cur) ?? []) {
        if (inSet.has(next) && !seen.has(next)) { seen.add(next); stack.push(next) }
      }
    }
    const hub = [...comp].sort((a, b) => degree(b) - degree(a) || byName(a, b))[0]
    const order = []
    const visited = new Set([hub])
    const queue = [/** @type {string} */ (hub)]
    while (queue.length > 0) {
      const cur = /** @type {string} */ (queue.shift())
      order.push(cur)
      const next = [...(links.get(cur) ?? [])].filter((x) => inSet.has(x) && !visited.has(x)).sort(byName)
      for (const n of next) { visited.add(n); queue.push(n) }
    }
    groups.push(order)
  }
  groups.sort((a, b) => b.length - a.length || byName(/** @type {string} */ (a[0]), /** @type {string} */ (b[0])))
  return groups.flat()
}

/**
 * Packs a grid of `leafCount` uniform cells above rows of boxes (shelf packing, left to right)
 * into a block about `aspect` times wider than high.
 * @param {number} leafCount
 * @param {{ id: string, w: number, h: number }[]} boxes
 * @param {number} gap
 */
function packBlock (leafCount, boxes, gap) {
  const area = leafCount * sizes.cellW * sizes.cellH + boxes.reduce((sum, b) => sum + (b.w + gap) * (b.h + gap), 0)
  const widest = boxes.reduce((w, b) => Math.max(w, b.w), 0)
  const target = Math.max(widest, Math.sqrt(area * aspect), sizes.cellW)
  /** @type {Map<string, { x: number, y: number }>} */
  const spots = new Map()
  // boxes first, at y = 0, moved below the leaves once the leaf grid is known
  let x = 0
  let y = 0
  let rowH = 0
  let boxesW = 0
  for (const b of boxes) {
    if (x > 0 && x + b.w > target * 1.2) { // a little slack keeps two similar boxes side by side
      y += rowH + gap
      x = 0
      rowH = 0
    }
    spots.set(b.id, { x, y })
    x += b.w + gap
    rowH = Math.max(rowH, b.h)
    boxesW = Math.max(boxesW, x - gap)
  }
  const boxesH = boxes.length === 0 ? 0 : y + rowH
  const cols = boxes.length > 0
    ? Math.max(1, Math.min(leafCount, Math.floor(Math.max(boxesW, target) / sizes.cellW)))
    : bestColumns(leafCount)
  const leafH = Math.ceil(leafCount / Math.max(cols, 1)) * sizes.cellH
  const leafW = leafCount === 0 ? 0 : cols * sizes.cellW
  const shift = leafH === 0 ? 0 : leafH + gap / 2
  for (const spot of spots.values()) spot.y += shift
  return { w: Math.max(leafW, boxesW), h: boxes.length === 0 ? leafH : shift + boxesH, cols, spots }
}

/** Columns of a leaf-only grid whose shape is closest to `aspect`. @param {number} n */
function bestColumns (n) {
  let best = 1
  let bestScore = Infinity
  for (let cols = 1; cols <= n; cols++) {
    const ratio = (cols * sizes.cellW) / (Math.ceil(n / cols) * sizes.cellH)
    const score = Math.abs(Math.log(ratio / aspect))
    if (score < bestScore) { best = cols; bestScore = score }
  }
  return best
}

/**
 * Maps edges onto what is drawn: endpoints folded into collapsed owners, duplicates merged, and
 * ownership edges that a box already shows flagged as `contained`.
 * @param {GraphEdge[]} edges
 * @param {Map<string, GraphNode>} byId
 * @param {Map<string, string>} shownAs
 * @param {Map<string, string>} owner
 * @param {(id: string) => boolean} isBoxed
 * @returns {PlacedEdge[]}
 */
function placeEdges (edges, byId, shownAs, owner, isBoxed) {
  /** @type {Map<string, PlacedEdge>} */
  const merged = new Map()
  for (const e of edges) {
    if (!byId.has(e.Parent) || !byId.has(e.Child)) continue
    const source = /** @type {string} */ (shownAs.get(e.Parent))
    const target = /** @type {string} */ (shownAs.get(e.Child))
    if (source === target) continue
    const kind = relationOf(e.Metadata)
    const key = `${kind}|${source}|${target}`
    const known = merged.get(key)
    if (known !== undefined) { known.edgeIds.push(e.ID); continue }
    const contained = kind === 'ownership' && owner.get(target) === source && isBoxed(source)
    merged.set(key, { key, source, target, kind, edgeIds: [e.ID], contained })
  }
  return [...merged.values()]
}
