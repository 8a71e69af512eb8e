// Captures tab: the form that starts a capture on the selected interface (or any Gremlin
// selection) with a BPF filter, and the list of captures with their flows and a delete button.

import { h, replaceChildren } from './dom.js'
import { formatValue, gremlinString, truncate } from './format.js'

/**
 * @typedef {import('./api.js').Api} Api
 * @typedef {import('./api.js').Capture} Capture
 * @typedef {import('./layout.js').GraphNode} GraphNode
 */

const captureTypes = ['afpacket', 'pcap', 'ebpf', 'sflow', 'pcapsocket', 'ovssflow', 'ovsmirror', 'ovsnetflow', 'dpdk']
const bpfPresets = ['tcp', 'udp', 'icmp or icmp6', 'tcp port 80 or tcp port 443', 'not port 22', 'udp port 53', 'arp']

/** The Gremlin selection of one node: its TID survives restarts, the ID is the fallback. @param {GraphNode} node */
export function nodeSelector (node) {
  const tid = node.Metadata.TID
  return typeof tid === 'string' && tid !== '' ? `G.V().Has('TID', ${gremlinString(tid)})` : `G.V(${gremlinString(node.ID)})`
}

export class CapturesPanel {
  /** @type {HTMLElement} */
  #list
  /** @type {HTMLFormElement} */
  #form
  /** @type {HTMLElement} */
  #message
  /** @type {Api} */
  #api
  /** @type {{ onFlows: (c: Capture) => void, onChanged: () => void }} */
  #handlers
  /** @type {Capture[]} */
  captures = []

  /**
   * @param {HTMLElement} root
   * @param {Api} api
   * @param {{ onFlows: (c: Capture) => void, onChanged: () => void }} handlers
   */
  constructor (root, api, handlers) {
    this.#api = api
    this.#handlers = handlers
    this.#message = h('p', { class: 'form-message', role: 'status' })
    this.#form = h('form', { class: 'capture-form', id: 'capture-form', autocomplete: 'off' },
      h('h3', {}, 'New capture'),
      h('label', {}, h('span', {}, 'Name'), h('input', { name: 'Name', placeholder: 'optional', maxlength: 128 })),
      h('label', {}, h('span', {}, 'Nodes (Gremlin)'),
        h('input', { name: 'GremlinQuery', class: 'mono', required: true, placeholder: "G.V().Has('Name', 'eth0')", spellcheck: 'false' })),
      h('label', {}, h('span', {}, 'BPF filter'),
        h('input', { name: 'BPFFilter', class: 'mono', list: 'bpf-presets', placeholder: 'e.g. tcp port 443', spellcheck: 'false' }),
        h('datalist', { id: 'bpf-presets' }, ...bpfPresets.map((p) => h('option', { value: p })))),
      h('label', {}, h('span', {}, 'Type'),
        h('select', { name: 'Type' }, h('option', { value: '' }, 'Auto'), ...captureTypes.map((t) => h('option', { value: t }, t)))),
      h('div', { class: 'form-actions' }, h('button', { type: 'submit', class: 'btn primary' }, 'Start capture'), this.#message))
    this.#field('Name').addEventListener('input', (ev) => { /** @type {HTMLInputElement} */ (ev.target).dataset.auto = 'false' })
    this.#form.addEventListener('submit', (ev) => { ev.preventDefault(); this.#submit().catch(() => {}) })
    this.#list = h('div', { class: 'capture-list', id: 'capture-list' })
    replaceChildren(root, this.#form, h('section', { class: 'panel-section' },
      h('h3', {}, 'Captures', h('span', { class: 'count', id: 'capture-count' }, '0')), this.#list))
  }

  /** @param {string} name @returns {HTMLInputElement | HTMLSelectElement} */
  #field (name) {
    return /** @type {HTMLInputElement | HTMLSelectElement} */ (this.#form.elements.namedItem(name))
  }

  /** Points the form at a node. @param {GraphNode} node */
  prefill (node) {
    this.#field('GremlinQuery').value = nodeSelector(node)
    const name = this.#field('Name')
    if (name.value === '' || name.dataset.auto === 'true') {
      name.value = `${formatValue(node.Metadata.Name)} capture`
      name.dataset.auto = 'true'
    }
    this.#say('', '')
    this.#field('BPFFilter').focus()
  }

  /** @param {string} text @param {'' | 'ok' | 'error'} kind */
  #say (text, kind) {
    this.#message.textContent = text
    this.#message.className = `form-message ${kind}`
  }

  async #submit () {
    const query = this.#field('GremlinQuery').value.trim()
    if (query === '') { this.#say('A Gremlin query is required', 'error'); return }
    /** @type {{ GremlinQuery: string, BPFFilter?: string, Name?: string, Type?: string }} */
    const body = { GremlinQuery: query }
    const bpf = this.#field('BPFFilter').value.trim()
    const name = this.#field('Name').value.trim()
    const type = this.#field('Type').value
    if (bpf !== '') body.BPFFilter = bpf
    if (name !== '') body.Name = name
    if (type !== '') body.Type = type
    const button = /** @type {HTMLButtonElement} */ (this.#form.querySelector('button[type=submit]'))
    button.disabled = true
    try {
      const created = await this.#api.createCapture(body)
      this.#say(`Capture ${created?.UUID?.slice(0, 8) ?? ''} created`, 'ok')
      this.#field('Name').dataset.auto = 'true'
      await this.refresh()
      this.#handlers.onChanged()
    } catch (err) {
      this.#say(err instanceof Error ? err.message : String(err), 'error')
    } finally {
      button.disabled = false
    }
  }

  async refresh () {
    try {
      this.captures = (await this.#api.captures()).sort((a, b) => String(a.Name ?? a.UUID).localeCompare(String(b.Name ?? b.UUID)))
    } catch (err) {
      replaceChildren(this.#list, h('p', { class: 'error-text' }, `Cannot list captures: ${err instanceof Error ? err.message : String(err)}`))
      return
    }
    const count = document.getElementById('capture-count')
    if (count !== null) count.textContent = String(this.captures.length)
    if (this.captures.length === 0) {
      replaceChildren(this.#list, h('p', { class: 'muted' }, 'No capture yet. Select an interface and start one above.'))
      return
    }
    replaceChildren(this.#list, ...this.captures.map((c) => this.#card(c)))
  }

  /** @param {Capture} c */
  #card (c) {
    const del = h('button', { type: 'button', class: 'btn small danger ghost', 'data-action': 'delete' }, 'Delete')
    /** @type {ReturnType<typeof setTimeout> | undefined} */
    let armed
    del.addEventListener('click', () => {
      // two clicks instead of a blocking confirm() dialog
      if (armed === undefined) {
        del.textContent = 'Confirm'
        del.classList.add('armed')
        armed = setTimeout(() => { armed = undefined; del.textContent = 'Delete'; del.classList.remove('armed') }, 4000)
        return
      }
      clearTimeout(armed)
      del.disabled = true
      this.#api.deleteCapture(c.UUID)
        .then(async () => { await this.refresh(); this.#handlers.onChanged() })
        .catch((err) => { del.disabled = false; this.#say(err instanceof Error ? err.message : String(err), 'error') })
    })
    const count = typeof c.Count === 'number' ? c.Count : 0
    return h('article', { class: 'capture-card', 'data-uuid': c.UUID },
      h('div', { class: 'capture-head' },
        h('span', { class: `dot ${count > 0 ? 'on' : 'off'}`, title: count > 0 ? `active on ${count} node(s)` : 'not active on any node' }),
        h('strong', {}, c.Name !== undefined && c.Name !== '' ? c.Name : 'Unnamed capture'),
        h('span', { class: 'muted mono small' }, c.UUID.slice(0, 8))),
      h('div', { class: 'capture-query mono', title: c.GremlinQuery ?? '' }, truncate(c.GremlinQuery ?? '', 80)),
      h('div', { class: 'capture-meta' },
        h('span', { class: 'chip' }, c.Type !== undefined && c.Type !== '' ? c.Type : 'auto'),
        c.BPFFilter !== undefined && c.BPFFilter !== '' ? h('span', { class: 'chip mono' }, c.BPFFilter) : h('span', { class: 'chip muted' }, 'no filter'),
        h('span', { class: 'chip' }, `${count} node${count === 1 ? '' : 's'}`),
        h('span', { class: 'spacer' }),
        h('button', { type: 'button', class: 'btn small', 'data-action': 'flows', onclick: () => this.#handlers.onFlows(c) }, 'Flows'),
        del))
  }
}
