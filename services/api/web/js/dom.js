// Tiny DOM helpers: the UI builds its elements with these instead of a framework.

const svgNs = 'http://www.w3.org/2000/svg'

/**
 * @typedef {string | number | Node | null | undefined | false} Child
 * @typedef {Record<string, string | number | boolean | null | undefined | EventListener>} Attrs
 */

/**
 * @param {Element} el
 * @param {Attrs} attrs
 */
function setAttrs (el, attrs) {
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue
    if (typeof value === 'function') {
      el.addEventListener(key.replace(/^on/, '').toLowerCase(), value)
    } else if (key === 'text') {
      el.textContent = String(value)
    } else {
      el.setAttribute(key, value === true ? '' : String(value))
    }
  }
}

/**
 * @param {Element} el
 * @param {Child[]} children
 */
function append (el, children) {
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue
    el.append(typeof child === 'object' ? child : String(child))
  }
}

/**
 * Creates an HTML element: h('td', { class: 'num' }, '42').
 * @template {keyof HTMLElementTagNameMap} K
 * @param {K} tag
 * @param {Attrs} [attrs]
 * @param {...(Child | Child[])} children
 * @returns {HTMLElementTagNameMap[K]}
 */
export function h (tag, attrs = {}, ...children) {
  const el = document.createElement(tag)
  setAttrs(el, attrs)
  append(el, /** @type {Child[]} */ (children.flat()))
  return el
}

/**
 * Creates an SVG element.
 * @param {string} tag
 * @param {Attrs} [attrs]
 * @param {...(Child | Child[])} children
 * @returns {SVGElement}
 */
export function s (tag, attrs = {}, ...children) {
  const el = /** @type {SVGElement} */ (document.createElementNS(svgNs, tag))
  setAttrs(el, attrs)
  append(el, /** @type {Child[]} */ (children.flat()))
  return el
}

/**
 * Looks an element up by id and fails loudly when the page and the code disagree.
 * @template {HTMLElement | SVGElement} [T=HTMLElement]
 * @param {string} id
 * @param {new (...args: any[]) => T} [type]
 * @returns {T}
 */
export function byId (id, type) {
  const el = document.getElementById(id)
  if (el === null) throw new Error(`element #${id} is missing from index.html`)
  if (type !== undefined && !(el instanceof type)) throw new Error(`element #${id} is not a ${type.name}`)
  return /** @type {T} */ (/** @type {unknown} */ (el))
}

/**
 * Replaces all children of an element.
 * @param {Element} el
 * @param {...(Child | Child[])} children
 */
export function replaceChildren (el, ...children) {
  el.replaceChildren()
  append(el, /** @type {Child[]} */ (children.flat()))
}
