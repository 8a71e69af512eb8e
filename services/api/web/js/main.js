// Wires the page together: loads the graph, keeps it live, and connects the query bar, time
// travel, the graph view and the panels through one small state object.

import { Api, ApiError } from './api.js'
import { CapturesPanel, nodeSelector } from './captures.js'
import { renderDetails } from './details.js'
import { byId, h, replaceChildren, s } from './dom.js'
import { FlowsTable } from './flows.js'
import { formatTime, gremlinString } from './format.js'
import { GraphStore, isEdge, isNode } from './graph-store.js'
import { GraphView } from './graph-view.js'
import { layoutGraph } from './layout.js'
import { LiveUpdates } from './live.js'
import { legendEntries } from './node-style.js'

/**
 * @typedef {import('./layout.js').GraphNode} GraphNode
 * @typedef {import('./layout.js').GraphEdge} GraphEdge
 */

const pollInterval = 5000
const statusInterval = 10_000
const flowsInterval = 5000

/** Types a capture cannot run on: they hold interfaces but are not one. */
const notCapturable = new Set(['host', 'netns', 'container', 'pod', 'service', 'namespace', 'cluster', 'deployment',
  'replicaset', 'statefulset', 'daemonset', 'job', 'cronjob', 'node', 'switch', 'openvswitch'])

const state = {
  /** @type {string | null} */
  selectedId: null,
  /** @type {Set<string>} owners folded into one node */
  collapsed: new Set(),
  /** @type {Set<string> | null} nodes lit by the query bar (or a flow) */
  highlight: null,
  /** @type {Set<string> | null} */
  highlightEdges: null,
  /** @type {Set<string> | null} nodes kept by a filter query */
  filter: null,
  /** @type {number | null} epoch ms when looking at the past, null when live */
  time: null,
  /** @type {number} */
  historySupported: 1,
  fitPending: true
}

const store = new GraphStore()
const api = new Api(askLogin)
const view = new GraphView(byId('graph', SVGSVGElement), {
  onSelect: (id) => select(id),
  onToggle: (id) => toggleFold(id)
})

/** Gremlin in the current time context: `G.…` becomes `G.At(<ms>).…` when looking at the past. @param {string} q */
export function withTime (q) {
  const query = q.trim()
  if (state.time === null || !/^G\s*\./.test(query) || /^G\s*\.\s*(At|Context)\s*\(/.test(query)) return query
  return `G.At(${state.time})${query.replace(/^G\s*/, '')}`
}

/** @param {string} q */
async function runQuery (q) {
  return await api.query(withTime(q))
}

// ---- graph loading ---------------------------------------------------------------------------

async function loadGraph () {
  const [nodes, edges] = await Promise.all([runQuery('G.V()'), runQuery('G.E()')])
  store.replace(Array.isArray(nodes) ? nodes : [], Array.isArray(edges) ? edges : [])
}

const live = new LiveUpdates({
  pollInterval,
  onMessage: (msg) => { store.apply(msg) },
  poll: async () => { await loadGraph() },
  onState: (liveState, detail) => renderLiveStatus(liveState, detail)
})

// ---- rendering -------------------------------------------------------------------------------

let renderQueued = false
function scheduleRender () {
  if (renderQueued) return
  renderQueued = true
  requestAnimationFrame(() => {
    renderQueued = false
    render()
  })
}

/** @param {string} id @param {Map<string, string>} owners */
function ancestors (id, owners) {
  /** @type {string[]} */
  const out = []
  for (let a = owners.get(id); a !== undefined && !out.includes(a); a = owners.get(a)) out.push(a)
  return out
}

/** The node set on screen: all, or the filter's nodes plus their owners (drawn dimmed, for context). */
function visibleGraph () {
  const nodes = [...store.nodes.values()]
  const edges = [...store.edges.values()]
  const context = new Set()
  if (state.filter === null) return { nodes, edges, context }
  /** @type {Map<string, string>} */
  const owners = new Map()
  for (const e of edges) if (e.Metadata.RelationType === 'ownership' && !owners.has(e.Child)) owners.set(e.Child, e.Parent)
  const keep = new Set(state.filter)
  for (const id of state.filter) {
    for (const a of ancestors(id, owners)) {
      if (!keep.has(a)) context.add(a)
      keep.add(a)
    }
  }
  return {
    nodes: nodes.filter((n) => keep.has(n.ID)),
    edges: edges.filter((e) => keep.has(e.Parent) && keep.has(e.Child)),
    context
  }
}

/** @type {GraphNode | undefined} */
let detailsShownFor
let detailsFolded = false

function render () {
  const { nodes, edges, context } = visibleGraph()
  const layout = layoutGraph(nodes, edges, { collapsed: state.collapsed })
  view.render({
    nodes: store.nodes,
    layout,
    selectedId: state.selectedId,
    highlight: state.highlight,
    highlightEdges: state.highlightEdges,
    context
  })
  if (state.fitPending && layout.nodes.size > 0) {
    view.fit()
    state.fitPending = false
  }
  const empty = byId('graph-empty')
  empty.hidden = nodes.length > 0
  if (nodes.length === 0) {
    empty.textContent = state.filter !== null
      ? 'The filter matches no node.'
      : state.time !== null ? `No topology recorded at ${formatTime(state.time)}.` : 'Waiting for the topology… (no node yet)'
  }
  renderLegend(nodes)
  renderDetailsPanel()
  byId('status-counts').textContent = `${store.nodes.size} nodes · ${store.edges.size} edges${state.filter !== null ? ` · ${nodes.length} shown` : ''}`
  byId('status-updated').textContent = store.updatedAt > 0 ? `Updated ${formatTime(store.updatedAt)}` : ''
}

/** @param {GraphNode[]} nodes */
function renderLegend (nodes) {
  const entries = legendEntries(nodes.map((n) => n.Metadata))
  replaceChildren(byId('legend'),
    ...entries.map((e) => h('span', { class: 'legend-item' },
      s('svg', { width: 12, height: 12, viewBox: '0 0 12 12' }, s('circle', { cx: 6, cy: 6, r: 5, fill: e.color })), e.label)),
    h('span', { class: 'legend-item' }, s('svg', { width: 22, height: 8, viewBox: '0 0 22 8' }, s('line', { class: 'edge edge-layer2', x1: 1, y1: 4, x2: 21, y2: 4 })), 'layer2'),
    h('span', { class: 'legend-item' }, s('svg', { width: 22, height: 8, viewBox: '0 0 22 8' }, s('line', { class: 'edge edge-ownership', x1: 1, y1: 4, x2: 21, y2: 4 })), 'ownership'),
    h('span', { class: 'legend-item' }, s('svg', { width: 22, height: 8, viewBox: '0 0 22 8' }, s('line', { class: 'edge edge-other', x1: 1, y1: 4, x2: 21, y2: 4 })), 'other'))
}

/** @param {GraphNode} n */
function capturable (n) {
  return !notCapturable.has(String(n.Metadata.Type ?? '')) && n.Metadata.Manager !== 'k8s'
}

/** @param {string} id */
function isOwner (id) {
  for (const e of store.edges.values()) if (e.Parent === id && e.Metadata.RelationType === 'ownership') return true
  return false
}

function renderDetailsPanel () {
  const node = state.selectedId === null ? undefined : store.nodes.get(state.selectedId)
  const folded = node !== undefined && state.collapsed.has(node.ID)
  // a live update of another node must not reset the panel's scroll and open sections
  if (node === detailsShownFor && folded === detailsFolded && node !== undefined) return
  detailsShownFor = node
  detailsFolded = folded
  renderDetails(byId('details'), node, {
    nodeById: (id) => store.nodes.get(id),
    edgesOf: (id) => store.edgesOf(id),
    isOwner: node !== undefined && isOwner(node.ID),
    folded,
    canCapture: node !== undefined && capturable(node),
    onSelect: (id) => { select(id); view.reveal(id) },
    onFlows: (n) => { showNodeFlows(n).catch(() => {}) },
    onCapture: (n) => { showTab('captures'); captures.prefill(n) },
    onToggleFold: (id) => toggleFold(id)
  })
}

// ---- selection, folding ------------------------------------------------------------------------

/** @param {string | null} id */
function select (id) {
  state.selectedId = id
  if (id !== null) {
    showTab('details')
    const node = store.nodes.get(id)
    if (node !== undefined && capturable(node)) showNodeFlows(node).catch(() => {})
  }
  scheduleRender()
}

/** @param {string} id */
function toggleFold (id) {
  if (state.collapsed.has(id)) state.collapsed.delete(id)
  else if (isOwner(id)) state.collapsed.add(id)
  else return
  detailsShownFor = undefined
  scheduleRender()
}

// ---- flows -------------------------------------------------------------------------------------

const flows = new FlowsTable({
  body: byId('flows-body'),
  query: byId('flows-query', HTMLInputElement),
  title: byId('flows-title'),
  count: byId('flows-count'),
  form: byId('flows-form', HTMLFormElement)
}, runQuery, (flow) => {
  // light up the interface the flow was captured on
  const node = flow === null ? undefined : store.nodeByTid(String(flow.NodeTID ?? ''))
  state.highlight = node === undefined ? null : new Set([node.ID])
  state.highlightEdges = null
  if (node !== undefined) view.reveal(node.ID)
  showQueryResult(node === undefined ? (flow === null ? '' : 'The capture node of this flow is not in the graph.') : `Flow captured on ${String(node.Metadata.Name ?? node.ID)}`, 'info')
  scheduleRender()
})

/** @param {GraphNode} node */
async function showNodeFlows (node) {
  const tid = node.Metadata.TID
  const query = typeof tid === 'string' && tid !== ''
    ? `G.Flows().Has('NodeTID', ${gremlinString(tid)})`
    : `${nodeSelector(node)}.Flows()`
  await flows.load(query, `on ${String(node.Metadata.Name ?? node.ID)}`)
}

// ---- captures ----------------------------------------------------------------------------------

const captures = new CapturesPanel(byId('captures'), api, {
  onFlows: (c) => { flows.load(`G.Flows().Has('CaptureID', ${gremlinString(c.UUID)})`, `of capture ${c.Name !== undefined && c.Name !== '' ? c.Name : c.UUID.slice(0, 8)}`).catch(() => {}) },
  onChanged: () => { updateCaptureCount() }
})

function updateCaptureCount () {
  byId('tab-capture-count').textContent = captures.captures.length > 0 ? String(captures.captures.length) : ''
}

/** @param {'details' | 'captures'} tab */
function showTab (tab) {
  for (const name of ['details', 'captures']) {
    byId(`tab-${name}`).setAttribute('aria-selected', String(name === tab))
    byId(name).hidden = name !== tab
  }
}

// ---- query bar ---------------------------------------------------------------------------------

/**
 * The message line under the top bar, with one action (Clear by default).
 * @param {string} text
 * @param {'info' | 'error' | 'ok'} kind
 * @param {{ label: string, run: () => void }} [action]
 */
function showQueryResult (text, kind, action = { label: 'Clear', run: clearQuery }) {
  const el = byId('query-result')
  el.hidden = text === ''
  el.className = `query-result ${kind}`
  replaceChildren(el, h('span', {}, text), text === '' ? null : h('button', { type: 'button', class: 'link', onclick: () => action.run() }, action.label))
}

function clearQuery () {
  flows.clearSelection()
  state.highlight = null
  state.highlightEdges = null
  if (state.filter !== null) state.fitPending = true
  state.filter = null
  showQueryResult('', 'info')
  scheduleRender()
}

/**
 * Runs the query bar's Gremlin and shows the result: nodes and edges are highlighted (or kept, in
 * filter mode), flows go to the flows table, anything else (Count, Values…) is printed.
 * @param {string} q
 * @param {'highlight' | 'filter'} mode
 */
async function submitQuery (q, mode) {
  if (q.trim() === '') { clearQuery(); return }
  const button = byId('query-run', HTMLButtonElement)
  button.disabled = true
  let result
  try {
    result = await runQuery(q)
  } catch (err) {
    showQueryResult(err instanceof ApiError ? `Query failed (${err.status}): ${err.message}` : String(err), 'error')
    return
  } finally {
    button.disabled = false
  }
  const items = Array.isArray(result) ? result : [result]
  /** @type {Set<string>} */
  const nodeIds = new Set()
  /** @type {Set<string>} */
  const edgeIds = new Set()
  let flowCount = 0
  for (const item of items) {
    if (isEdge(item)) {
      edgeIds.add(item.ID)
      nodeIds.add(item.Parent)
      nodeIds.add(item.Child)
    } else if (isNode(item)) {
      nodeIds.add(item.ID)
    } else if (typeof item === 'object' && item !== null && Array.isArray(item.Nodes)) {
      for (const n of item.Nodes) if (isNode(n)) nodeIds.add(n.ID)
      for (const e of Array.isArray(item.Edges) ? item.Edges : []) if (isEdge(e)) edgeIds.add(e.ID)
    } else if (typeof item === 'object' && item !== null && 'UUID' in item && 'Metric' in item) {
      flowCount++
    }
  }
  if (flowCount > 0) {
    await flows.load(q, 'from the query bar')
    showQueryResult(`${flowCount} flow${flowCount === 1 ? '' : 's'}: see the flows table`, 'ok')
    return
  }
  if (nodeIds.size === 0 && edgeIds.size === 0) {
    const text = Array.isArray(result) && result.length === 0 ? 'No match' : `Result: ${JSON.stringify(result)}`
    showQueryResult(text.length > 400 ? `${text.slice(0, 400)}…` : text, Array.isArray(result) && result.length === 0 ? 'info' : 'ok')
    state.highlight = new Set()
    state.highlightEdges = null
    if (mode === 'filter') { state.filter = new Set(); state.fitPending = true }
    scheduleRender()
    return
  }
  if (mode === 'filter') {
    state.filter = nodeIds
    state.highlight = null
    state.highlightEdges = edgeIds.size > 0 ? edgeIds : null
    state.fitPending = true
  } else {
    state.filter = null
    state.highlight = nodeIds
    state.highlightEdges = edgeIds.size > 0 ? edgeIds : null
  }
  const what = edgeIds.size > 0 ? `${edgeIds.size} edge${edgeIds.size === 1 ? '' : 's'}` : `${nodeIds.size} node${nodeIds.size === 1 ? '' : 's'}`
  showQueryResult(`${what} ${mode === 'filter' ? 'shown' : 'highlighted'}`, 'ok')
  scheduleRender()
}

// ---- time travel -------------------------------------------------------------------------------

/** @param {number | null} time */
async function travelTo (time) {
  state.time = time
  state.fitPending = true
  const pill = byId('time-mode')
  pill.textContent = time === null ? 'Live' : 'History'
  pill.className = `mode-pill ${time === null ? 'live' : 'history'}`
  byId('time-live', HTMLButtonElement).disabled = time === null
  if (time === null) live.resume()
  else live.pause()
  try {
    await loadGraph()
    showQueryResult(time === null ? '' : `Showing the topology at ${formatTime(time)} (G.At(${time}))`, 'info',
      { label: 'Back to live', run: () => { travelTo(null).catch(() => {}) } })
  } catch (err) {
    showQueryResult(`Cannot load the topology at ${formatTime(time)}: ${err instanceof Error ? err.message : String(err)}`, 'error')
  }
  renderLiveStatus(live.state, time === null ? 'websocket' : 'history')
  flows.refresh().catch(() => {})
}

async function probeHistory () {
  try {
    await api.query("G.At('-1m').V().Limit(1)")
  } catch (err) {
    if (err instanceof ApiError && err.status === 400) {
      state.historySupported = 0
      for (const id of ['time-input', 'time-go']) {
        const el = byId(id, HTMLElement)
        el.setAttribute('disabled', '')
        el.title = `Time travel is not available: ${err.message}`
      }
    }
  }
}

// ---- status line -------------------------------------------------------------------------------

/** @param {string} liveState @param {string} detail */
function renderLiveStatus (liveState, detail) {
  const el = byId('status-live')
  const text = /** @type {HTMLElement} */ (el.querySelector('.text'))
  if (state.time !== null) {
    el.dataset.state = 'history'
    text.textContent = `History · ${formatTime(state.time)}`
  } else if (liveState === 'live') {
    el.dataset.state = 'live'
    text.textContent = 'Live · websocket'
  } else if (liveState === 'polling') {
    el.dataset.state = 'polling'
    text.textContent = `Polling every ${pollInterval / 1000} s (${detail})`
  } else {
    el.dataset.state = 'connecting'
    text.textContent = 'Connecting…'
  }
}

async function refreshStatus () {
  const el = byId('status-api')
  const text = /** @type {HTMLElement} */ (el.querySelector('.text'))
  try {
    const status = await api.status()
    const agents = typeof status.Agents === 'object' && status.Agents !== null ? Object.keys(status.Agents).length : 0
    el.dataset.state = 'ok'
    text.textContent = `API ok · ${agents} agent${agents === 1 ? '' : 's'}`
  } catch (err) {
    el.dataset.state = 'error'
    text.textContent = `API error: ${err instanceof Error ? err.message : String(err)}`
  }
}

// ---- login -------------------------------------------------------------------------------------

/** Shows the login dialog and resolves once POST /login succeeded. */
function askLogin () {
  const dialog = byId('login-dialog', HTMLDialogElement)
  const form = byId('login-form', HTMLFormElement)
  const error = byId('login-error')
  return new Promise(/** @param {(v?: void) => void} resolve */ (resolve) => {
    /** @param {SubmitEvent} ev */
    const onSubmit = (ev) => {
      ev.preventDefault()
      const data = new FormData(form)
      api.login(String(data.get('username') ?? ''), String(data.get('password') ?? ''))
        .then(() => {
          form.removeEventListener('submit', onSubmit)
          error.textContent = ''
          dialog.close()
          live.reconnect()
          resolve()
        })
        .catch((err) => { error.textContent = err instanceof Error ? err.message : String(err) })
    }
    form.addEventListener('submit', onSubmit)
    if (!dialog.open) dialog.showModal()
  })
}

// ---- wiring ------------------------------------------------------------------------------------

function bindControls () {
  const input = byId('query-input', HTMLInputElement)
  const mode = byId('query-mode', HTMLSelectElement)
  byId('query-form', HTMLFormElement).addEventListener('submit', (ev) => {
    ev.preventDefault()
    submitQuery(input.value, mode.value === 'filter' ? 'filter' : 'highlight').catch(() => {})
  })
  byId('query-clear').addEventListener('click', () => { input.value = ''; clearQuery() })
  byId('zoom-in').addEventListener('click', () => view.zoomBy(1.25))
  byId('zoom-out').addEventListener('click', () => view.zoomBy(0.8))
  byId('zoom-fit').addEventListener('click', () => view.fit())
  byId('fold-all').addEventListener('click', () => {
    for (const n of store.nodes.values()) if (n.Metadata.Type === 'host' && isOwner(n.ID)) state.collapsed.add(n.ID)
    state.fitPending = true
    detailsShownFor = undefined
    scheduleRender()
  })
  byId('unfold-all').addEventListener('click', () => {
    state.collapsed.clear()
    state.fitPending = true
    detailsShownFor = undefined
    scheduleRender()
  })
  const ownership = byId('show-ownership', HTMLInputElement)
  ownership.addEventListener('change', () => view.svg.classList.toggle('hide-ownership', !ownership.checked))
  view.svg.classList.toggle('hide-ownership', !ownership.checked)
  byId('tab-details').addEventListener('click', () => showTab('details'))
  byId('tab-captures').addEventListener('click', () => {
    showTab('captures')
    captures.refresh().then(updateCaptureCount).catch(() => {})
  })
  const timeInput = byId('time-input', HTMLInputElement)
  byId('time-go').addEventListener('click', () => {
    const ms = timeInput.value === '' ? NaN : new Date(timeInput.value).getTime()
    if (Number.isNaN(ms)) { showQueryResult('Pick a date and time first', 'error'); return }
    travelTo(ms).catch(() => {})
  })
  byId('time-live').addEventListener('click', () => { travelTo(null).catch(() => {}) })
  document.addEventListener('keydown', (ev) => {
    const typing = ev.target instanceof HTMLInputElement || ev.target instanceof HTMLTextAreaElement || ev.target instanceof HTMLSelectElement
    if (ev.key === '/' && !typing) { ev.preventDefault(); input.focus() }
    if (ev.key === 'Escape' && !byId('login-dialog', HTMLDialogElement).open) {
      if (state.highlight !== null || state.filter !== null) clearQuery()
      else select(null)
    }
  })
}

async function start () {
  bindControls()
  renderLiveStatus('connecting', '')
  store.subscribe(scheduleRender)
  scheduleRender()
  // default time: one hour ago, a useful starting point for time travel
  const ago = new Date(Date.now() - 3600_000)
  byId('time-input', HTMLInputElement).value = new Date(ago.getTime() - ago.getTimezoneOffset() * 60_000).toISOString().slice(0, 19)
  try {
    await loadGraph()
  } catch (err) {
    byId('graph-empty').hidden = false
    byId('graph-empty').textContent = `Cannot load the topology: ${err instanceof Error ? err.message : String(err)}`
  }
  live.start()
  await Promise.all([refreshStatus(), probeHistory(), captures.refresh().then(updateCaptureCount)])
  setInterval(() => { refreshStatus().catch(() => {}) }, statusInterval)
  setInterval(() => {
    if (byId('flows-auto', HTMLInputElement).checked && state.time === null && document.visibilityState === 'visible') flows.refresh().catch(() => {})
  }, flowsInterval)
  const initial = new URLSearchParams(location.search).get('filter')
  if (initial !== null && initial !== '') {
    byId('query-input', HTMLInputElement).value = initial
    byId('query-mode', HTMLSelectElement).value = 'filter'
    await submitQuery(initial, 'filter')
  }
  document.body.dataset.ready = 'true'
}

start().catch((err) => {
  console.error(err)
  showQueryResult(`The UI failed to start: ${err instanceof Error ? err.message : String(err)}`, 'error')
})
