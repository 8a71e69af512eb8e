import { createServer, type Server } from 'node:http'
import type { Registry } from 'prom-client'
import type { Logger } from './log.ts'

export interface HealthState {
  /** Live: the process works and should not be restarted. */
  healthy(): boolean
  /** Ready: connected to what it needs and doing its job. */
  ready(): boolean
}

/**
 * The operations endpoints every service exposes: /metrics (Prometheus), /healthz and /readyz.
 * The API serves the same routes from fastify; the other services use this small server.
 */
export class OpsServer {
  readonly #server: Server
  readonly #host: string
  readonly #port: number
  readonly #logger: Logger | undefined

  constructor (opts: { host?: string, port: number, registry: Registry, health: HealthState, logger?: Logger }) {
    this.#host = opts.host ?? '0.0.0.0'
    this.#port = opts.port
    this.#logger = opts.logger
    this.#server = createServer((req, res) => {
      const path = (req.url ?? '/').split('?')[0]
      if (path === '/metrics') {
        opts.registry.metrics().then((text) => {
          res.writeHead(200, { 'content-type': opts.registry.contentType }).end(text)
        }, (err: unknown) => { res.writeHead(500).end(String(err)) })
        return
      }
      if (path === '/healthz' || path === '/readyz') {
        const ok = path === '/healthz' ? opts.health.healthy() : opts.health.ready()
        res.writeHead(ok ? 200 : 503, { 'content-type': 'application/json' }).end(JSON.stringify({ status: ok ? 'ok' : 'unavailable' }))
        return
      }
      res.writeHead(404, { 'content-type': 'application/json' }).end('{"error":"not found"}')
    })
  }

  get port (): number {
    const addr = this.#server.address()
    return typeof addr === 'object' && addr !== null ? addr.port : this.#port
  }

  async start (): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      this.#server.once('error', reject)
      this.#server.listen(this.#port, this.#host, () => { this.#server.off('error', reject); resolve() })
    })
    this.#logger?.info({ port: this.port }, 'Operations endpoints listening')
  }

  async close (): Promise<void> {
    if (!this.#server.listening) return
    await new Promise<void>((resolve) => this.#server.close(() => resolve()))
  }
}
