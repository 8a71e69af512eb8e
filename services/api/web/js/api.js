// The Skydive-compatible API on the same origin. A 401 asks the page for credentials once
// (POST /login sets the authtoken cookie) and replays the request.

export class ApiError extends Error {
  /** @param {number} status @param {string} message */
  constructor (status, message) {
    super(message)
    this.name = 'ApiError'
    this.status = status
  }
}

/**
 * @typedef {{ UUID: string, GremlinQuery?: string, BPFFilter?: string, Name?: string, Description?: string, Type?: string, Count?: number }} Capture
 * @typedef {() => Promise<void>} LoginPrompt resolves once the user logged in
 */

export class Api {
  /** @type {LoginPrompt} */
  #askLogin
  /** @type {Promise<void> | undefined} one prompt for all requests that got a 401 together */
  #pendingLogin

  /** @param {LoginPrompt} askLogin */
  constructor (askLogin) {
    this.#askLogin = askLogin
  }

  /**
   * @param {string} path
   * @param {RequestInit} [init]
   * @returns {Promise<Response>}
   */
  async #fetch (path, init = {}) {
    for (let attempt = 0; ; attempt++) {
      /** @type {Response} */
      let res
      try {
        res = await fetch(path, { credentials: 'same-origin', ...init })
      } catch (err) {
        throw new ApiError(0, `API unreachable (${err instanceof Error ? err.message : String(err)})`)
      }
      if (res.status === 401 && attempt < 2) {
        this.#pendingLogin ??= this.#askLogin().finally(() => { this.#pendingLogin = undefined })
        await this.#pendingLogin
        continue
      }
      if (!res.ok) {
        const text = (await res.text()).trim()
        throw new ApiError(res.status, text === '' ? `${res.status} ${res.statusText}` : text)
      }
      return res
    }
  }

  /** @param {string} path @param {RequestInit} [init] */
  async #json (path, init) {
    const res = await this.#fetch(path, { ...init, headers: { Accept: 'application/json', ...init?.headers } })
    if (res.status === 204) return null
    const text = await res.text()
    return text === '' ? null : JSON.parse(text)
  }

  /**
   * Runs a Gremlin query; the body is whatever the last step returns (array, number, object).
   * @param {string} gremlin
   * @returns {Promise<unknown>}
   */
  async query (gremlin) {
    return await this.#json('/api/topology', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ GremlinQuery: gremlin })
    })
  }

  /** @returns {Promise<Record<string, unknown>>} */
  async status () {
    return /** @type {Record<string, unknown>} */ (await this.#json('/api/status') ?? {})
  }

  /** `GET /api`: `{Host, Version, Service}`. @returns {Promise<Record<string, unknown>>} */
  async info () {
    return /** @type {Record<string, unknown>} */ (await this.#json('/api') ?? {})
  }

  /** Captures as a list (the API answers an object keyed by UUID). @returns {Promise<Capture[]>} */
  async captures () {
    const body = await this.#json('/api/capture')
    if (body === null || typeof body !== 'object') return []
    return Object.entries(body).map(([uuid, c]) => ({ ...c, UUID: typeof c?.UUID === 'string' ? c.UUID : uuid }))
  }

  /**
   * @param {{ GremlinQuery: string, BPFFilter?: string, Name?: string, Description?: string, Type?: string }} capture
   * @returns {Promise<Capture>}
   */
  async createCapture (capture) {
    return await this.#json('/api/capture', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify(capture)
    })
  }

  /** @param {string} uuid */
  async deleteCapture (uuid) {
    await this.#fetch(`/api/capture/${encodeURIComponent(uuid)}`, { method: 'DELETE' })
  }

  /**
   * Form-encoded like Skydive's login page; the server sets the authtoken cookie.
   * @param {string} username
   * @param {string} password
   */
  async login (username, password) {
    let res
    try {
      res = await fetch('/login', {
        method: 'POST',
        credentials: 'same-origin',
        headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ username, password }).toString()
      })
    } catch (err) {
      throw new ApiError(0, `API unreachable (${err instanceof Error ? err.message : String(err)})`)
    }
    if (!res.ok) throw new ApiError(res.status, (await res.text()).trim() || 'Login failed')
  }
}
