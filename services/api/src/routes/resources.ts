import { TopoflowError } from '@topoflow/core'
import type { FastifyInstance } from 'fastify'
import type { ApiContext } from '../context.ts'
import { sendText } from '../http/errors.ts'
import { applyPatch, deepEqual, parsePatch } from '../lib/json-patch.ts'
import { kinds, parseGoDuration, present, resourceKinds, type Resource, type ResourceKindName } from '../resources/kinds.ts'

const idParams = { type: 'object', properties: { id: { type: 'string', minLength: 1, maxLength: 256 } }, required: ['id'] } as const
const anyObject = { type: 'object', additionalProperties: true } as const
const patchBody = { type: 'array', maxItems: 1000, items: { type: 'object', additionalProperties: true } } as const

/** Capture ID → nodes where it is active, from capture status and from nodes' `Captures` metadata. */
function activeCaptures (ctx: ApiContext): (uuid: string) => number {
  const byCapture = new Map<string, Set<string>>()
  const add = (capture: string, node: string): void => {
    let set = byCapture.get(capture)
    if (set === undefined) byCapture.set(capture, set = new Set())
    set.add(node)
  }
  for (const s of ctx.captureStatus.all()) if (s.State === 'active') add(s.CaptureID, s.NodeID)
  for (const n of ctx.live.nodes()) {
    const caps = n.Metadata.Captures
    if (!Array.isArray(caps)) continue
    for (const c of caps as Array<Record<string, unknown>>) {
      if (c?.State === 'active' && typeof c.ID === 'string') add(c.ID, n.ID)
    }
  }
  return (uuid) => byCapture.get(uuid)?.size ?? 0
}

function notFound (kind: ResourceKindName, id: string): TopoflowError {
  return new TopoflowError('TOPOFLOW_ERR_NOT_FOUND', `${kinds[kind].title} '${id}' not found`)
}

/** Skydive's generic CRUD for captures, alerts, node rules and edge rules. */
export function resourceRoutes (app: FastifyInstance, ctx: ApiContext): void {
  const show = (kind: ResourceKindName, r: Resource, count?: (uuid: string) => number): Resource => {
    const out = present(kind, r)
    if (kind === 'capture' && count !== undefined) out.Count = count(r.UUID)
    return out
  }
  const normalizeContext = () => ({ now: ctx.now(), defaultLayerKeyMode: ctx.config.flow.default_layer_key_mode })

  for (const kind of resourceKinds) {
    const base = `/api/${kind}`
    const tags = [kind]

    app.get(base, { schema: { summary: `Every ${kind}, as an object keyed by UUID`, tags } }, async () => {
      const count = kind === 'capture' ? activeCaptures(ctx) : undefined
      const out: Record<string, Resource> = {}
      for (const r of ctx.resources.list(kind)) out[r.UUID] = show(kind, r, count)
      return out
    })

    app.get<{ Params: { id: string } }>(`${base}/:id`, { schema: { summary: `One ${kind}`, tags, params: idParams } }, async (req) => {
      const r = ctx.resources.get(kind, req.params.id)
      if (r === undefined) throw notFound(kind, req.params.id)
      return show(kind, r, kind === 'capture' ? activeCaptures(ctx) : undefined)
    })

    app.post<{ Body: Record<string, unknown> }>(base, {
      schema: { summary: `Create a ${kind}: 201 with its UUID; 409 when it duplicates one; header X-Resource-TTL (e.g. 30s) makes it expire`, tags, body: anyObject }
    }, async (req, reply) => {
      const ttlHeader = req.headers['x-resource-ttl']
      let ttl: number | undefined
      if (typeof ttlHeader === 'string' && ttlHeader !== '') {
        ttl = parseGoDuration(ttlHeader)
        if (ttl === undefined || ttl <= 0) throw new TopoflowError('TOPOFLOW_ERR_INVALID_REQUEST', `invalid ttl: "${ttlHeader}" is not a duration such as 30s or 5m`)
      }
      const resource = kinds[kind].normalize(req.body, normalizeContext())
      const created = await ctx.resources.create(kind, resource, ttl)
      return reply.code(201).type('application/json; charset=UTF-8').send(show(kind, created, kind === 'capture' ? () => 0 : undefined))
    })

    app.patch<{ Params: { id: string }, Body: unknown[] }>(`${base}/:id`, {
      schema: { summary: `Change a ${kind} with an RFC 6902 JSON Patch; 304 when nothing changed`, tags, params: idParams, body: patchBody }
    }, async (req, reply) => {
      const current = ctx.resources.get(kind, req.params.id)
      if (current === undefined) throw notFound(kind, req.params.id)
      if (!kinds[kind].updatable) return sendText(reply, 400, 'resource not updatable')
      const patched = applyPatch(present(kind, current), parsePatch(req.body)) as Record<string, unknown>
      const next = kinds[kind].normalize({ ...patched, CreateTime: current.CreateTime }, normalizeContext())
      next.UUID = current.UUID
      if (deepEqual(next, current)) return reply.code(304).send()
      await ctx.resources.update(kind, next)
      return reply.type('application/json; charset=UTF-8').send(show(kind, next))
    })

    app.delete<{ Params: { id: string } }>(`${base}/:id`, { schema: { summary: `Delete a ${kind}`, tags, params: idParams } }, async (req, reply) => {
      if (!await ctx.resources.delete(kind, req.params.id)) throw notFound(kind, req.params.id)
      return sendText(reply, 200, '')
    })
  }
}
