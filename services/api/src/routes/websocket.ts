import { randomUUID } from 'node:crypto'
import { parseGremlin } from '@topoflow/gremlin'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import type { ApiContext } from '../context.ts'
import { sendText } from '../http/errors.ts'
import { handshakeParam } from '../ws/messages.ts'
import { Publisher, type PersistencePolicy } from '../ws/publisher.ts'
import { Subscriber, type UpdatePolicy } from '../ws/subscriber.ts'

interface Handshake { hostId: string, clientType: string }

/** The client's address; injected test connections have no socket. */
function peer (req: FastifyRequest): { addr: string, port: number } {
  const socket = req.raw.socket as FastifyRequest['raw']['socket'] | undefined
  return { addr: socket?.remoteAddress ?? '', port: socket?.remotePort ?? 0 }
}

/** Checks graffiti's handshake parameters before the upgrade, so a bad client gets a plain HTTP error. */
function handshake (ctx: ApiContext, endpoint: 'subscribers' | 'publishers', req: FastifyRequest, reply: FastifyReply): Handshake | undefined {
  const clientType = handshakeParam(req.headers, req.query, 'X-Client-Type')
  if (clientType === undefined) {
    sendText(reply, 400, 'X-Client-Type header (or x-client-type parameter) is required')
    return undefined
  }
  const protocol = handshakeParam(req.headers, req.query, 'X-Client-Protocol') ?? 'json'
  if (protocol !== 'json') {
    sendText(reply, 400, `X-Client-Protocol "${protocol}" is not supported; use json`)
    return undefined
  }
  const hostId = handshakeParam(req.headers, req.query, 'X-Host-ID') ?? `${clientType}-${randomUUID()}`
  if (ctx.hub[endpoint].has(hostId)) {
    sendText(reply, 409, `a client with host ID ${hostId} is already connected`)
    return undefined
  }
  return { hostId, clientType }
}

/** `/ws/subscriber` and `/ws/publisher`, Skydive's graph websocket endpoints. */
export function websocketRoutes (app: FastifyInstance, ctx: ApiContext): void {
  const shakes = new WeakMap<FastifyRequest, Handshake & { filter?: string, policy?: UpdatePolicy, persistence?: PersistencePolicy }>()

  app.get('/ws/subscriber', {
    websocket: true,
    schema: { summary: 'Graph events (Skydive Graph namespace); headers X-Client-Type, X-Host-ID, X-Gremlin-Filter, X-Update-Policy', tags: ['websocket'] },
    preValidation: async (req, reply) => {
      const h = handshake(ctx, 'subscribers', req, reply)
      if (h === undefined) return reply
      const filter = handshakeParam(req.headers, req.query, 'X-Gremlin-Filter') ?? ''
      if (filter !== '') {
        try {
          parseGremlin(filter)
        } catch (err) {
          return sendText(reply, 400, `Invalid Gremlin filter '${filter}': ${(err as Error).message}`)
        }
      }
      const policy = (handshakeParam(req.headers, req.query, 'X-Update-Policy') ?? 'full').toLowerCase()
      if (policy !== 'full' && policy !== 'partial') return sendText(reply, 400, `invalid update policy '${policy}'`)
      shakes.set(req, { ...h, filter, policy })
      return undefined
    }
  }, (socket, req) => {
    const h = shakes.get(req)
    if (h === undefined) { socket.close(1011, 'handshake lost'); return }
    const sub = new Subscriber({
      socket, hostId: h.hostId, clientType: h.clientType, ...peer(req),
      now: ctx.now(), live: ctx.live, query: ctx.query, logger: ctx.logger, policy: h.policy ?? 'full'
    })
    ctx.hub.subscribers.set(h.hostId, sub)
    ctx.metrics.wsClients.inc({ endpoint: 'subscriber' })
    const unsubscribe = ctx.live.onEvent((ev) => sub.onGraphEvent(ev))
    socket.on('message', (data) => sub.onMessage(data))
    socket.on('close', () => {
      unsubscribe()
      sub.close()
      ctx.hub.subscribers.delete(h.hostId)
      ctx.metrics.wsClients.dec({ endpoint: 'subscriber' })
    })
    if (h.filter !== undefined && h.filter !== '') {
      sub.setFilter(h.filter).catch((err: unknown) => socket.close(1008, (err as Error).message.slice(0, 120)))
    }
  })

  app.get('/ws/publisher', {
    websocket: true,
    schema: { summary: 'External writers push Graph messages; headers X-Client-Type, X-Host-ID, X-Persistence-Policy', tags: ['websocket'] },
    preValidation: async (req, reply) => {
      const h = handshake(ctx, 'publishers', req, reply)
      if (h === undefined) return reply
      const persistence = handshakeParam(req.headers, req.query, 'X-Persistence-Policy') ?? 'Persistent'
      if (persistence !== 'Persistent' && persistence !== 'DeleteOnDisconnect') {
        return sendText(reply, 400, `invalid persistence policy '${persistence}', expected Persistent or DeleteOnDisconnect`)
      }
      shakes.set(req, { ...h, persistence })
      return undefined
    }
  }, (socket, req) => {
    const h = shakes.get(req)
    if (h === undefined) { socket.close(1011, 'handshake lost'); return }
    const pub = new Publisher({
      socket, hostId: h.hostId, clientType: h.clientType, ...peer(req),
      policy: h.persistence ?? 'Persistent', live: ctx.live, writer: ctx.writer, logger: ctx.logger, now: ctx.now
    })
    ctx.hub.publishers.set(h.hostId, pub)
    ctx.metrics.wsClients.inc({ endpoint: 'publisher' })
    socket.on('message', (data) => pub.onMessage(data))
    socket.on('close', () => {
      ctx.hub.publishers.delete(h.hostId)
      ctx.metrics.wsClients.dec({ endpoint: 'publisher' })
      pub.disconnected().catch((err: unknown) => ctx.logger.warn({ err, origin: pub.origin }, 'Could not remove a publisher\'s elements'))
    })
  })
}
