// The metadata panel of the selected node: key facts, sockets, captures, interface counters,
// links to its neighbours and the full metadata as a tree.

import { h, replaceChildren, s } from './dom.js'
import { formatBytes, formatCount, formatEndpoint, formatTime, formatValue } from './format.js'
import { nodeStyle } from './node-style.js'
import { relationOf } from './layout.js'

/**
 * @typedef {import('./layout.js').GraphNode} GraphNode
 * @typedef {import('./layout.js').GraphEdge} GraphEdge
 * @typedef {{
 *   nodeById: (id: string) => GraphNode | undefined,
 *   edgesOf: (id: string) => GraphEdge[],
 *   isOwner: boolean,
 *   folded: boolean,
 *   canCapture: boolean,
 *   onSelect: (id: string) => void,
 *   onFlows: (node: GraphNode) => void,
 *   onCapture: (node: GraphNode) => void,
 *   onToggleFold: (id: string) => void,
 * }} DetailsContext
 */

const factKeys = ['Type', 'State', 'MAC', 'IPV4', 'IPV6', 'MTU', 'IfIndex', 'Driver', 'Speed', 'Path', 'Manager', 'Hostname', 'OS', 'KernelVersion']
const shownElsewhere = new Set(['Name', 'Sockets', 'Captures', 'Metric', 'LastUpdateMetric'])

/** @param {unknown} v @returns {v is Record<string, unknown>} */
function isObject (v) {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}

/** @param {string} title @param {number | string | null} count @param {...Node} body */
function section (title, count, ...body) {
  return h('section', { class: 'panel-section' },
    h('h3', {}, title, count === null ? null : h('span', { class: 'count' }, String(count))),
    ...body)
}

/** A small round icon like the graph's. @param {Record<string, unknown>} m */
export function nodeIcon (m) {
  const style = nodeStyle(m)
  return s('svg', { class: 'icon', viewBox: '-12 -12 24 24', width: 28, height: 28, style: `--node: ${style.color}` },
    s('circle', { class: 'node-body', r: 11 }),
    s('path', { class: 'node-glyph', d: style.glyph, transform: 'translate(-8,-8)' }))
}

/** @param {unknown} state */
function stateBadge (state) {
  if (typeof state !== 'string') return null
  const cls = state === 'UP' ? 'ok' : state === 'DOWN' || state === 'LOWERLAYERDOWN' ? 'bad' : 'neutral'
  return h('span', { class: `badge ${cls}` }, state)
}

/** @param {Record<string, unknown>} m @param {GraphNode} n */
function facts (m, n) {
  const rows = []
  for (const key of factKeys) {
    if (m[key] === undefined || m[key] === null || m[key] === '') continue
    const value = m[key]
    const cell = Array.isArray(value)
      ? h('td', {}, ...value.map((v) => h('div', { class: 'mono' }, formatValue(v))))
      : h('td', { class: key === 'MAC' ? 'mono' : '' }, formatValue(value))
    rows.push(h('tr', {}, h('th', {}, key), cell))
  }
  rows.push(h('tr', {}, h('th', {}, 'Host'), h('td', {}, n.Host ?? '–')))
  rows.push(h('tr', {}, h('th', {}, 'ID'), h('td', { class: 'mono small' }, n.ID)))
  if (typeof m.TID === 'string') rows.push(h('tr', {}, h('th', {}, 'TID'), h('td', { class: 'mono small' }, m.TID)))
  rows.push(h('tr', {}, h('th', {}, 'Updated'), h('td', {}, formatTime(n.UpdatedAt ?? n.CreatedAt))))
  return h('table', { class: 'facts node-facts' }, h('tbody', {}, ...rows))
}

/** @param {Record<string, unknown>[]} sockets */
function socketsTable (sockets) {
  const rank = (/** @type {unknown} */ st) => (st === 'LISTEN' ? 0 : st === 'ESTABLISHED' ? 1 : 2)
  const sorted = [...sockets].sort((a, b) => rank(a.State) - rank(b.State) ||
    Number(a.LocalPort ?? 0) - Number(b.LocalPort ?? 0))
  const tbody = h('tbody', {})
  const fill = (/** @type {string} */ needle) => {
    const q = needle.trim().toLowerCase()
    tbody.replaceChildren(...sorted
      .filter((sk) => q === '' || JSON.stringify(sk).toLowerCase().includes(q))
      .map((sk) => h('tr', {},
        h('td', { title: typeof sk.Process === 'string' ? sk.Process : '' },
          h('div', { class: 'proc' }, formatValue(sk.Name ?? sk.Process)),
          h('div', { class: 'pid' }, [formatValue(sk.Protocol), sk.Pid !== undefined ? `pid ${formatValue(sk.Pid)}` : ''].filter((x) => x !== '' && x !== '–').join(' · '))),
        // local above remote keeps the table inside the panel
        h('td', { class: 'mono' },
          h('div', {}, formatEndpoint(sk.LocalAddress, sk.LocalPort)),
          sk.State === 'LISTEN' ? null : h('div', { class: 'muted' }, `→ ${formatEndpoint(sk.RemoteAddress, sk.RemotePort)}`)),
        h('td', {}, h('span', { class: `badge small ${sk.State === 'LISTEN' ? 'info' : sk.State === 'ESTABLISHED' ? 'ok' : 'neutral'}` }, formatValue(sk.State))))))
  }
  fill('')
  const search = sorted.length > 8
    ? h('input', { class: 'table-filter', type: 'search', placeholder: 'Filter sockets…', 'aria-label': 'Filter sockets', oninput: (ev) => fill(/** @type {HTMLInputElement} */ (ev.target).value) })
    : null
  return [search, h('div', { class: 'table-wrap' }, h('table', { class: 'data sockets' },
    h('thead', {}, h('tr', {}, h('th', {}, 'Process'), h('th', {}, 'Local → remote'), h('th', {}, 'State'))),
    tbody))]
}

const captureFacts = [['Type', 'Type'], ['BPFFilter', 'BPF filter'], ['PacketsReceived', 'Packets received'], ['PacketsDropped', 'Packets dropped'], ['Error', 'Error']]

/** Captures running on the node (its `Captures` metadata), one card each. @param {Record<string, unknown>[]} captures */
function capturesList (captures) {
  return h('div', { class: 'captures-meta' }, ...captures.map((c) => {
    const known = new Set(['ID', 'Name', 'State', ...captureFacts.map(([k]) => k)])
    const rows = [...captureFacts.map(([k, label]) => /** @type {[string, string]} */ ([/** @type {string} */ (k), /** @type {string} */ (label)])),
      ...Object.keys(c).filter((k) => !known.has(k)).map((k) => /** @type {[string, string]} */ ([k, k]))]
      .filter(([k]) => c[k] !== undefined && c[k] !== null && c[k] !== '')
    return h('article', { class: 'capture-card' },
      h('div', { class: 'capture-head' },
        h('span', { class: `dot ${c.State === 'active' ? 'on' : 'off'}` }),
        h('strong', {}, typeof c.Name === 'string' && c.Name !== '' ? c.Name : 'Capture'),
        h('span', { class: 'muted mono small', title: formatValue(c.ID) }, typeof c.ID === 'string' ? c.ID.slice(0, 8) : ''),
        h('span', { class: 'spacer' }),
        h('span', { class: `badge small ${c.State === 'active' ? 'ok' : c.State === 'error' ? 'bad' : 'neutral'}` }, formatValue(c.State))),
      h('table', { class: 'facts compact' }, h('tbody', {}, ...rows.map(([k, label]) => h('tr', {},
        h('th', {}, label),
        h('td', { class: k === 'BPFFilter' ? 'mono' : '' }, typeof c[k] === 'number' ? formatCount(/** @type {number} */ (c[k])) : formatValue(c[k])))))))
  }))
}

/** Interface counters (netlink Metric / LastUpdateMetric). @param {Record<string, unknown>} metric */
function metricTable (metric) {
  const pairs = [['Bytes', 'RxBytes', 'TxBytes'], ['Packets', 'RxPackets', 'TxPackets'], ['Dropped', 'RxDropped', 'TxDropped'], ['Errors', 'RxErrors', 'TxErrors']]
  const rows = pairs.filter(([, rx, tx]) => metric[/** @type {string} */ (rx)] !== undefined || metric[/** @type {string} */ (tx)] !== undefined)
    .map(([label, rx, tx]) => {
      const fmt = label === 'Bytes' ? formatBytes : formatCount
      return h('tr', {}, h('th', {}, /** @type {string} */ (label)),
        h('td', { class: 'num' }, fmt(/** @type {number} */ (metric[/** @type {string} */ (rx)]))),
        h('td', { class: 'num' }, fmt(/** @type {number} */ (metric[/** @type {string} */ (tx)]))))
    })
  return h('table', { class: 'data metric' }, h('thead', {}, h('tr', {}, h('th', {}, ''), h('th', { class: 'num' }, 'RX'), h('th', { class: 'num' }, 'TX'))), h('tbody', {}, ...rows))
}

/** @param {GraphNode} n @param {DetailsContext} ctx */
function linksList (n, ctx) {
  const items = ctx.edgesOf(n.ID).map((e) => {
    const otherId = e.Parent === n.ID ? e.Child : e.Parent
    const other = ctx.nodeById(otherId)
    const rel = relationOf(e.Metadata)
    const dir = rel === 'ownership' ? (e.Parent === n.ID ? 'owns' : 'owned by') : formatValue(e.Metadata.RelationType)
    return { rel, dir, other, otherId, type: typeof e.Metadata.Type === 'string' ? e.Metadata.Type : '' }
  }).sort((a, b) => a.rel.localeCompare(b.rel) || String(a.other?.Metadata.Name ?? '').localeCompare(String(b.other?.Metadata.Name ?? ''), 'en', { numeric: true }))
  if (items.length === 0) return null
  return section('Links', items.length, h('ul', { class: 'links' }, ...items.map((it) =>
    h('li', {},
      h('span', { class: `rel rel-${it.rel}` }, it.dir + (it.type !== '' ? ` · ${it.type}` : '')),
      h('button', { class: 'link', type: 'button', onclick: () => ctx.onSelect(it.otherId) },
        it.other === undefined ? it.otherId.slice(0, 8) : formatValue(it.other.Metadata.Name)),
      it.other !== undefined ? h('span', { class: 'muted' }, ` ${formatValue(it.other.Metadata.Type)}`) : null))))
}

/** Collapsible tree of any JSON value. @param {string} key @param {unknown} value @param {number} depth @returns {Node} */
function tree (key, value, depth) {
  if (Array.isArray(value) || isObject(value)) {
    const entries = Array.isArray(value) ? value.map((v, i) => /** @type {[string, unknown]} */ ([String(i), v])) : Object.entries(value)
    const summary = h('summary', {}, h('span', { class: 'key' }, key), h('span', { class: 'muted' }, Array.isArray(value) ? ` [${value.length}]` : ` {${entries.length}}`))
    const el = h('details', { class: 'tree-node' }, summary, ...entries.map(([k, v]) => tree(k, v, depth + 1)))
    if (depth < 1 && entries.length <= 6) el.open = true
    return el
  }
  return h('div', { class: 'tree-leaf' }, h('span', { class: 'key' }, key), h('span', { class: `val ${typeof value}` }, formatValue(value)))
}

/**
 * Renders the panel for a node (or an empty state).
 * @param {HTMLElement} root
 * @param {GraphNode | undefined} node
 * @param {DetailsContext} ctx
 */
export function renderDetails (root, node, ctx) {
  if (node === undefined) {
    root.replaceChildren(h('div', { class: 'empty' },
      h('p', { class: 'empty-title' }, 'No node selected'),
      h('p', {}, 'Click a node in the graph to see its metadata, sockets and captures. Double-click a host or namespace to fold it.')))
    return
  }
  const m = node.Metadata
  const sockets = Array.isArray(m.Sockets) ? m.Sockets.filter(isObject) : []
  const captures = Array.isArray(m.Captures) ? m.Captures.filter(isObject) : []
  const others = Object.fromEntries(Object.entries(m).filter(([k]) => !shownElsewhere.has(k)))
  replaceChildren(root,
    h('header', { class: 'node-head' },
      nodeIcon(m),
      h('div', { class: 'node-title' },
        h('h2', { title: formatValue(m.Name) }, formatValue(m.Name)),
        h('div', { class: 'badges' }, h('span', { class: 'badge type' }, formatValue(m.Type)), stateBadge(m.State)))),
    h('div', { class: 'actions' },
      ctx.canCapture ? h('button', { type: 'button', class: 'btn small', 'data-action': 'flows', onclick: () => ctx.onFlows(node) }, 'Show flows') : null,
      ctx.canCapture ? h('button', { type: 'button', class: 'btn small', 'data-action': 'capture', onclick: () => ctx.onCapture(node) }, 'Capture…') : null,
      ctx.isOwner ? h('button', { type: 'button', class: 'btn small', 'data-action': 'fold', onclick: () => ctx.onToggleFold(node.ID) }, ctx.folded ? 'Unfold' : 'Fold') : null),
    facts(m, node),
    sockets.length > 0 ? section('Sockets', sockets.length, ...socketsTable(sockets).filter((x) => x !== null)) : null,
    section('Captures', captures.length, captures.length > 0
      ? capturesList(captures)
      : h('p', { class: 'muted' }, ctx.canCapture ? 'No capture on this node.' : 'Captures run on interfaces.')),
    isObject(m.Metric) ? section('Counters', null, metricTable(m.Metric)) : null,
    linksList(node, ctx),
    section('Metadata', Object.keys(others).length, h('div', { class: 'tree' }, ...Object.entries(others).map(([k, v]) => tree(k, v, 0)))))
}
