// Live updates: Skydive's /ws/subscriber Graph messages, or polling the REST API when the
// websocket cannot be opened (proxy, auth, server without websocket). The socket is retried with
// backoff while polling keeps the graph fresh.

/**
 * @typedef {'connecting' | 'live' | 'polling' | 'paused'} LiveState
 * @typedef {{
 *   onMessage: (msg: import('./graph-store.js').WsMessage) => void,
 *   poll: () => Promise<void>,
 *   onState: (state: LiveState, detail: string) => void,
 *   pollInterval?: number,
 *   url?: string
 * }} LiveOptions
 */

const maxRetryDelay = 30_000

export class LiveUpdates {
  /** @type {LiveOptions} */
  #opts
  /** @type {WebSocket | undefined} */
  #socket
  /** @type {ReturnType<typeof setInterval> | undefined} */
  #pollTimer
  /** @type {ReturnType<typeof setTimeout> | undefined} */
  #retryTimer
  #retryDelay = 2000
  #paused = false
  #stopped = false
  /** @type {LiveState} */
  state = 'connecting'

  /** @param {LiveOptions} opts */
  constructor (opts) {
    this.#opts = opts
  }

  start () {
    this.#stopped = false
    this.#connect()
  }

  /** Time travel: keep the socket but stop applying events and polling. */
  pause () {
    this.#paused = true
    this.#stopPolling()
    this.#setState('paused', 'history')
  }

  resume () {
    this.#paused = false
    if (this.#socket?.readyState === WebSocket.OPEN) {
      this.#requestSync()
      this.#setState('live', 'websocket')
    } else {
      this.#startPolling()
      this.#connect()
    }
  }

  /** Reconnect now (e.g. after a login gave us a cookie). */
  reconnect () {
    if (this.#socket?.readyState === WebSocket.OPEN) return
    clearTimeout(this.#retryTimer)
    this.#retryDelay = 2000
    this.#connect()
  }

  stop () {
    this.#stopped = true
    clearTimeout(this.#retryTimer)
    this.#stopPolling()
    this.#socket?.close()
  }

  /** @param {LiveState} state @param {string} detail */
  #setState (state, detail) {
    this.state = state
    this.#opts.onState(state, detail)
  }

  #url () {
    if (this.#opts.url !== undefined) return this.#opts.url
    const proto = location.protocol === 'https:' ? 'wss:' : 'ws:'
    return `${proto}//${location.host}/ws/subscriber?x-client-type=webui&x-client-protocol=json`
  }

  #connect () {
    if (this.#stopped) return
    const current = this.#socket
    if (current !== undefined && (current.readyState === WebSocket.OPEN || current.readyState === WebSocket.CONNECTING)) return
    let opened = false
    /** @type {WebSocket} */
    let socket
    try {
      socket = new WebSocket(this.#url())
    } catch {
      this.#fallBack()
      return
    }
    this.#socket = socket
    socket.addEventListener('open', () => {
      opened = true
      this.#retryDelay = 2000
      this.#stopPolling()
      if (this.#paused) return
      this.#requestSync()
      this.#setState('live', 'websocket')
    })
    socket.addEventListener('message', (ev) => {
      if (this.#paused || typeof ev.data !== 'string') return
      let msg
      try {
        msg = JSON.parse(ev.data)
      } catch {
        return
      }
      if (typeof msg === 'object' && msg !== null) this.#opts.onMessage(msg)
    })
    socket.addEventListener('close', () => {
      if (this.#socket !== socket) return
      this.#socket = undefined
      if (this.#stopped) return
      this.#fallBack(opened ? 'websocket closed' : 'websocket unavailable')
    })
  }

  /** @param {string} [reason] */
  #fallBack (reason = 'websocket unavailable') {
    if (!this.#paused) {
      this.#startPolling()
      this.#setState('polling', reason)
    }
    clearTimeout(this.#retryTimer)
    this.#retryTimer = setTimeout(() => this.#connect(), this.#retryDelay)
    this.#retryDelay = Math.min(maxRetryDelay, this.#retryDelay * 2)
  }

  #requestSync () {
    const uuid = typeof crypto.randomUUID === 'function' ? crypto.randomUUID() : String(Math.random()).slice(2)
    this.#socket?.send(JSON.stringify({ Namespace: 'Graph', Type: 'SyncRequest', UUID: uuid, Obj: { GremlinFilter: null } }))
  }

  #startPolling () {
    if (this.#pollTimer !== undefined) return
    const interval = this.#opts.pollInterval ?? 5000
    let running = false
    this.#pollTimer = setInterval(() => {
      if (running) return // a slow API gets no pile-up of queries
      running = true
      this.#opts.poll().catch(() => {}).finally(() => { running = false })
    }, interval)
  }

  #stopPolling () {
    clearInterval(this.#pollTimer)
    this.#pollTimer = undefined
  }
}
