// The flows table: flows of the selected interface or capture (any `…Flows()` query), with both
// endpoints, the processes/pods behind them (AEnrich/BEnrich), counters, and sorting by column.

import { h, replaceChildren } from './dom.js'
import { formatAge, formatBytes, formatCount, formatEndpoint, formatTime, formatValue } from './format.js'

/**
 * @typedef {Record<string, any>} Flow Skydive flow JSON plus our enrichment
 * @typedef {{ key: string, label: string, title?: string, numeric: boolean, value: (f: Flow) => number | string }} Column
 */

/** @param {Flow} f @param {string} k */
const metric = (f, k) => Number(f.Metric?.[k] ?? 0)

/** @type {Column[]} */
const columns = [
  { key: 'app', label: 'Application', numeric: false, value: (f) => String(f.Application ?? '') },
  { key: 'a', label: 'Endpoint A', title: 'Sent the first packet seen', numeric: false, value: (f) => endpoint(f, 'A') },
  { key: 'b', label: 'Endpoint B', title: 'Received the first packet seen', numeric: false, value: (f) => endpoint(f, 'B') },
  { key: 'abp', label: 'A→B pkts', numeric: true, value: (f) => metric(f, 'ABPackets') },
  { key: 'abb', label: 'A→B bytes', numeric: true, value: (f) => metric(f, 'ABBytes') },
  { key: 'bap', label: 'B→A pkts', numeric: true, value: (f) => metric(f, 'BAPackets') },
  { key: 'bab', label: 'B→A bytes', numeric: true, value: (f) => metric(f, 'BABytes') },
  { key: 'bytes', label: 'Total bytes', numeric: true, value: (f) => metric(f, 'ABBytes') + metric(f, 'BABytes') },
  { key: 'packets', label: 'Total pkts', numeric: true, value: (f) => metric(f, 'ABPackets') + metric(f, 'BAPackets') },
  { key: 'last', label: 'Last seen', numeric: true, value: (f) => Number(f.Last ?? f.Metric?.Last ?? 0) }
]

/** "10.0.0.1:80", or the MAC for non-IP flows. @param {Flow} f @param {'A' | 'B'} side */
function endpoint (f, side) {
  const ip = f.Network?.[side]
  if (typeof ip === 'string' && ip !== '') return formatEndpoint(ip, f.Transport?.[side])
  const mac = f.Link?.[side]
  return typeof mac === 'string' ? mac : '?'
}

/** Chips naming what sits behind an endpoint: process, pod, host. @param {unknown} enrich */
function enrichment (enrich) {
  if (typeof enrich !== 'object' || enrich === null) return []
  const e = /** @type {Record<string, unknown>} */ (enrich)
  const chips = []
  if (typeof e.ProcessName === 'string' && e.ProcessName !== '') {
    chips.push(h('span', { class: 'chip proc', title: typeof e.Process === 'string' ? e.Process : '' },
      e.ProcessName, typeof e.Pid === 'number' ? h('span', { class: 'pid' }, ` ${e.Pid}`) : null))
  }
  if (typeof e.Pod === 'string' && e.Pod !== '') {
    chips.push(h('span', { class: 'chip pod', title: 'Kubernetes pod' }, typeof e.Namespace === 'string' && e.Namespace !== '' ? `${e.Namespace}/${e.Pod}` : e.Pod))
  } else if (typeof e.Container === 'string' && e.Container !== '') {
    chips.push(h('span', { class: 'chip pod', title: 'Container' }, e.Container))
  }
  if (typeof e.HostName === 'string' && e.HostName !== '') chips.push(h('span', { class: 'chip host', title: 'Host' }, e.HostName))
  return chips
}

export class FlowsTable {
  /** @type {HTMLElement} */
  #body
  /** @type {HTMLInputElement} */
  #query
  /** @type {HTMLElement} */
  #title
  /** @type {HTMLElement} */
  #count
  /** @type {(q: string) => Promise<unknown>} */
  #run
  /** @type {(flow: Flow | null) => void} */
  #onSelect
  /** @type {Flow[]} */
  flows = []
  sortKey = 'bytes'
  sortDesc = true
  /** @type {string | null} */
  selectedUuid = null
  #seq = 0

  /**
   * @param {{ body: HTMLElement, query: HTMLInputElement, title: HTMLElement, count: HTMLElement, form: HTMLFormElement }} els
   * @param {(q: string) => Promise<unknown>} run runs a Gremlin query (in the current time context)
   * @param {(flow: Flow | null) => void} onSelect
   */
  constructor (els, run, onSelect) {
    this.#body = els.body
    this.#query = els.query
    this.#title = els.title
    this.#count = els.count
    this.#run = run
    this.#onSelect = onSelect
    els.form.addEventListener('submit', (ev) => {
      ev.preventDefault()
      this.load(this.#query.value.trim(), 'Custom query').catch(() => {})
    })
    this.#renderEmpty('Select an interface or a capture to list its flows.')
  }

  /**
   * Shows the flows a query returns.
   * @param {string} query
   * @param {string} title
   */
  async load (query, title) {
    this.#query.value = query
    this.#title.textContent = title
    if (query === '') { this.clear(); return }
    const seq = ++this.#seq
    this.#body.classList.add('loading')
    try {
      const result = await this.#run(query)
      if (seq !== this.#seq) return // a newer load won
      this.flows = Array.isArray(result) ? result.filter((f) => typeof f === 'object' && f !== null && ('UUID' in f || 'Metric' in f)) : []
      this.#render()
    } catch (err) {
      if (seq !== this.#seq) return
      this.flows = []
      this.#renderEmpty(`Query failed: ${err instanceof Error ? err.message : String(err)}`, true)
    } finally {
      if (seq === this.#seq) this.#body.classList.remove('loading')
    }
  }

  /** Re-runs the current query (auto refresh). */
  async refresh () {
    const q = this.#query.value.trim()
    if (q !== '' && this.#title.textContent !== '') await this.load(q, this.#title.textContent ?? '')
  }

  /** Unmarks the selected row (its highlight in the graph was cleared). */
  clearSelection () {
    this.selectedUuid = null
    for (const row of this.#body.querySelectorAll('tr.selected')) row.classList.remove('selected')
  }

  clear () {
    this.flows = []
    this.#title.textContent = ''
    this.#count.textContent = ''
    this.#renderEmpty('Select an interface or a capture to list its flows.')
  }

  /** @param {string} text @param {boolean} [error] */
  #renderEmpty (text, error = false) {
    this.#count.textContent = ''
    replaceChildren(this.#body, h('div', { class: `empty ${error ? 'error-text' : ''}` }, text))
  }

  /** @param {string} key */
  #sortBy (key) {
    if (this.sortKey === key) this.sortDesc = !this.sortDesc
    else {
      this.sortKey = key
      this.sortDesc = columns.find((c) => c.key === key)?.numeric ?? false
    }
    this.#render()
  }

  #render () {
    const flows = this.flows
    this.#count.textContent = `${flows.length} flow${flows.length === 1 ? '' : 's'}`
    if (flows.length === 0) {
      this.#renderEmpty('No flows match. Start a capture on the interface, then generate some traffic.')
      this.#count.textContent = '0 flows'
      return
    }
    const col = columns.find((c) => c.key === this.sortKey) ?? /** @type {Column} */ (columns[7])
    const sign = this.sortDesc ? -1 : 1
    const sorted = [...flows].sort((a, b) => {
      const x = col.value(a)
      const y = col.value(b)
      const cmp = typeof x === 'number' && typeof y === 'number' ? x - y : String(x).localeCompare(String(y), 'en', { numeric: true })
      return sign * cmp || String(a.UUID).localeCompare(String(b.UUID))
    })
    const now = Date.now()
    const head = h('tr', {}, ...columns.map((c) => {
      const active = c.key === this.sortKey
      return h('th', {
        class: `${c.numeric ? 'num' : ''} sortable ${active ? (this.sortDesc ? 'desc' : 'asc') : ''}`,
        'data-sort': c.key,
        title: c.title ?? `Sort by ${c.label}`,
        'aria-sort': active ? (this.sortDesc ? 'descending' : 'ascending') : 'none',
        onclick: () => this.#sortBy(c.key)
      }, c.label)
    }))
    const rows = sorted.map((f) => {
      const m = f.Metric ?? {}
      const server = f.ServerEnd
      const tr = h('tr', { 'data-uuid': String(f.UUID ?? ''), class: f.UUID === this.selectedUuid ? 'selected' : '' },
        h('td', {}, h('span', { class: 'app' }, formatValue(f.Application)), h('div', { class: 'muted small' }, formatValue(f.LayersPath))),
        h('td', { class: 'endpoint' }, h('div', { class: 'mono' }, endpoint(f, 'A'), server === 'A' ? h('span', { class: 'tag' }, 'server') : null), h('div', { class: 'chips' }, ...enrichment(f.AEnrich))),
        h('td', { class: 'endpoint' }, h('div', { class: 'mono' }, endpoint(f, 'B'), server === 'B' ? h('span', { class: 'tag' }, 'server') : null), h('div', { class: 'chips' }, ...enrichment(f.BEnrich))),
        h('td', { class: 'num' }, formatCount(m.ABPackets)),
        h('td', { class: 'num' }, formatBytes(m.ABBytes)),
        h('td', { class: 'num' }, formatCount(m.BAPackets)),
        h('td', { class: 'num' }, formatBytes(m.BABytes)),
        h('td', { class: 'num strong' }, formatBytes(Number(m.ABBytes ?? 0) + Number(m.BABytes ?? 0))),
        h('td', { class: 'num' }, formatCount(Number(m.ABPackets ?? 0) + Number(m.BAPackets ?? 0))),
        h('td', { class: 'num', title: formatTime(f.Last) }, typeof f.Last === 'number' && f.Last > 0 ? formatAge(f.Last, now) : '–'))
      tr.addEventListener('click', () => {
        this.selectedUuid = this.selectedUuid === f.UUID ? null : String(f.UUID)
        for (const other of this.#body.querySelectorAll('tr.selected')) other.classList.remove('selected')
        if (this.selectedUuid !== null) tr.classList.add('selected')
        this.#onSelect(this.selectedUuid === null ? null : f)
      })
      return tr
    })
    replaceChildren(this.#body, h('table', { class: 'data flows', id: 'flows-table' }, h('thead', {}, head), h('tbody', {}, ...rows)))
  }
}
