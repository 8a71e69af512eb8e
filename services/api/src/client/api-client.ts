import { TopoflowError } from '@topoflow/core'

export interface ApiClientOptions {
  /** `HOST:PORT` of the API (Skydive's `--analyzer`), or `http(s)://HOST:PORT` */
  analyzer: string
  username?: string
  password?: string
  /** `http` (default) or `https` */
  scheme?: string
  /** per request, ms */
  timeoutMs?: number
}

/**
 * A small client of the Skydive-compatible REST API, used by the CLI. It logs in the way Skydive's
 * Python client does (form POST to /login, then the `authtoken` cookie).
 */
export class ApiClient {
  readonly #base: string
  readonly #opts: ApiClientOptions
  #cookie: string | undefined

  constructor (opts: ApiClientOptions) {
    const url = /^(https?):\/\/([^/]+)\/?$/.exec(opts.analyzer)
    const hostPort = url?.[2] ?? opts.analyzer
    if (!/^[^\s/]+:\d+$/.test(hostPort) && !/^\[[^\]]+\]:\d+$/.test(hostPort)) {
      throw new TopoflowError('TOPOFLOW_ERR_INVALID_REQUEST', `--analyzer "${opts.analyzer}": expected HOST:PORT, e.g. 127.0.0.1:8082`)
    }
    this.#opts = opts
    this.#base = `${url?.[1] ?? opts.scheme ?? 'http'}://${hostPort}`
  }

  async #fetch (path: string, init: RequestInit): Promise<Response> {
    try {
      return await fetch(this.#base + path, { ...init, signal: AbortSignal.timeout(this.#opts.timeoutMs ?? 30_000) })
    } catch (err) {
      const cause = (err as { cause?: { code?: string, message?: string } }).cause
      const why = cause?.code ?? cause?.message ?? (err as Error).message
      throw new TopoflowError('TOPOFLOW_ERR_INFRA', `cannot reach the API at ${this.#base}: ${why}`, { cause: err, retriable: true })
    }
  }

  async login (): Promise<void> {
    const body = new URLSearchParams({ username: this.#opts.username ?? '', password: this.#opts.password ?? '' })
    const res = await this.#fetch('/login', { method: 'POST', body, headers: { 'content-type': 'application/x-www-form-urlencoded' } })
    const text = await res.text()
    if (!res.ok) throw new TopoflowError('TOPOFLOW_ERR_UNAUTHORIZED', `login as "${this.#opts.username ?? ''}" failed: ${res.status} ${text.trim()}`)
    for (const c of res.headers.getSetCookie()) {
      const m = /^authtoken=([^;]*)/.exec(c)
      if (m !== null) this.#cookie = `authtoken=${m[1] ?? ''}`
    }
  }

  async request (method: string, path: string, body?: unknown, accept = 'application/json'): Promise<{ status: number, contentType: string, text: string }> {
    if (this.#opts.username !== undefined && this.#opts.username !== '' && this.#cookie === undefined) await this.login()
    const headers: Record<string, string> = { accept }
    if (body !== undefined) headers['content-type'] = 'application/json'
    if (this.#cookie !== undefined) headers.cookie = this.#cookie
    const init: RequestInit = { method, headers }
    if (body !== undefined) init.body = JSON.stringify(body)
    const res = await this.#fetch(path, init)
    const text = await res.text()
    if (res.status === 401) throw new TopoflowError('TOPOFLOW_ERR_UNAUTHORIZED', `${method} ${path}: 401 ${text.trim()} (give --username and --password)`)
    if (res.status >= 400) {
      const code = res.status === 404 ? 'TOPOFLOW_ERR_NOT_FOUND' : res.status === 409 ? 'TOPOFLOW_ERR_CONFLICT' : 'TOPOFLOW_ERR_INVALID_REQUEST'
      throw new TopoflowError(code, `${method} ${path}: ${res.status} ${text.trim()}`, { context: { status: res.status } })
    }
    return { status: res.status, contentType: res.headers.get('content-type') ?? '', text }
  }

  /** POST /api/topology; the parsed JSON result (null when the API answered 204 to an empty query). */
  async gremlin (query: string): Promise<unknown> {
    const res = await this.request('POST', '/api/topology', { GremlinQuery: query })
    if (res.status === 204 || res.text === '') return null
    try {
      return JSON.parse(res.text)
    } catch (err) {
      throw new TopoflowError('TOPOFLOW_ERR_DECODE', `the API answered ${query} with something that is not JSON: ${res.text.slice(0, 200)}`, { cause: err })
    }
  }
}
