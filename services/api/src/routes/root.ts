import type { FastifyInstance } from 'fastify'
import { setOwn, type Registry } from '@topoflow/core'
import type { ApiContext } from '../context.ts'
import { sendText } from '../http/errors.ts'

/** Config keys that hold credentials are never served. */
function secret (key: string): boolean {
  return key === 'auth' || key.startsWith('auth.') || /password|secret|token/i.test(key)
}

function lookup (config: unknown, key: string): unknown {
  let node: unknown = config
  for (const k of key.split('.')) {
    if (typeof node !== 'object' || node === null || !Object.hasOwn(node, k)) return null
    node = (node as Record<string, unknown>)[k]
  }
  return node ?? null
}

/** `/api`, `/api/status`, `/api/config/{key}` and the operations routes. */
export function rootRoutes (app: FastifyInstance, ctx: ApiContext, registry: Registry): void {
  app.get('/api', {
    schema: { summary: 'API version (Skydive: Host, Version, Service)', tags: ['info'] }
  }, async () => ({ Host: ctx.config.host_id, Version: ctx.version, Service: 'analyzer' }))

  app.get('/api/status', {
    schema: { summary: 'Analyzer status in Skydive\'s shape', tags: ['info'] }
  }, async () => {
    const agents: Record<string, unknown> = {}
    for (const n of ctx.live.nodes()) {
      if (n.Metadata.Type !== 'host') continue
      setOwn(agents, n.Host, {
        ServiceType: 'agent',
        ClientProtocol: 'json',
        Addr: n.Host,
        Port: 0,
        IsConnected: true,
        ConnectTime: new Date(n.CreatedAt).toISOString(),
        RemoteHost: n.Host,
        RemoteServiceType: 'agent'
      })
    }
    const probes: Record<string, unknown> = {}
    for (const p of ctx.config.analyzer.topology.probes) probes[p] = { Status: 'running' }
    return {
      Agents: agents,
      Peers: { Incomers: {}, Outgoers: {} },
      Publishers: ctx.hub.status(ctx.hub.publishers, 'publisher'),
      Subscribers: ctx.hub.status(ctx.hub.subscribers, 'subscriber'),
      Alerts: { IsMaster: true },
      Captures: { IsMaster: true },
      Probes: probes
    }
  })

  app.get<{ Params: { key: string } }>('/api/config/:key', {
    schema: {
      summary: 'One configuration value by dotted key (credentials are never served)',
      tags: ['info'],
      params: { type: 'object', properties: { key: { type: 'string', minLength: 1, maxLength: 256 } }, required: ['key'] }
    }
  }, async (req, reply) => {
    if (secret(req.params.key)) return sendText(reply, 403, `config key '${req.params.key}' is not readable through the API`)
    return reply.type('application/json; charset=UTF-8').send(JSON.stringify(lookup(ctx.config, req.params.key)))
  })

  app.get('/healthz', { schema: { summary: 'Liveness', tags: ['ops'] } }, async () => ({ status: 'ok' }))

  app.get('/readyz', { schema: { summary: 'Readiness: the graph and resources replicas are loaded', tags: ['ops'] } }, async (_req, reply) => {
    const ready = ctx.ready()
    return reply.code(ready ? 200 : 503).send({ status: ready ? 'ok' : 'unavailable' })
  })

  app.get('/metrics', { schema: { summary: 'Prometheus metrics', tags: ['ops'] } }, async (_req, reply) => {
    return reply.type(registry.contentType).send(await registry.metrics())
  })
}
