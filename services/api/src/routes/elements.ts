import { setOwn, TopoflowError } from '@topoflow/core'
import { elementJson, type GraphEdge, type GraphElement, type GraphNode } from '@topoflow/gremlin'
import type { FastifyInstance } from 'fastify'
import type { ApiContext } from '../context.ts'
import { sendText } from '../http/errors.ts'
import { applyPatch, deepEqual, parsePatch } from '../lib/json-patch.ts'

const idParams = { type: 'object', properties: { id: { type: 'string', minLength: 1, maxLength: 256 } }, required: ['id'] } as const
const patchBody = { type: 'array', maxItems: 1000, items: { type: 'object', additionalProperties: true } } as const
const element = {
  ID: { type: 'string', minLength: 1, maxLength: 256 },
  Host: { type: 'string', maxLength: 256 },
  Origin: { type: 'string', maxLength: 512 },
  CreatedAt: { type: 'integer', minimum: 0 },
  UpdatedAt: { type: 'integer', minimum: 0 },
  Revision: { type: 'integer', minimum: 0 },
  Metadata: { type: ['object', 'null'], additionalProperties: true }
} as const
const nodeBody = { type: 'object', properties: element, required: ['ID'], additionalProperties: true } as const
const edgeBody = {
  type: 'object',
  properties: { ...element, Parent: { type: 'string', minLength: 1 }, Child: { type: 'string', minLength: 1 } },
  required: ['ID', 'Parent', 'Child'],
  additionalProperties: true
} as const

type ElementBody = { ID: string, Host?: string, Origin?: string, CreatedAt?: number, UpdatedAt?: number, Revision?: number, Metadata?: Record<string, unknown> | null }

function invalid (message: string): TopoflowError {
  return new TopoflowError('TOPOFLOW_ERR_INVALID_REQUEST', message)
}

/** Skydive's node.schema essentials: a Type and a Name, a Path for netns, a UUID for ovsport. */
function validateNodeMetadata (md: Record<string, unknown>): void {
  if (typeof md.Type !== 'string' || md.Type === '') throw invalid('Metadata.Type is required (a non-empty string)')
  if (typeof md.Name !== 'string' || md.Name === '') throw invalid('Metadata.Name is required (a non-empty string)')
  if (md.Type === 'netns' && typeof md.Path !== 'string') throw invalid('Metadata.Path is required for a netns node')
  if (md.Type === 'ovsport' && typeof md.UUID !== 'string') throw invalid('Metadata.UUID is required for an ovsport node')
}

function validateEdgeMetadata (md: Record<string, unknown>): void {
  if (typeof md.RelationType !== 'string' || md.RelationType === '') throw invalid('Metadata.RelationType is required (a non-empty string)')
}

function notFound (kind: 'Node' | 'Edge', id: string): TopoflowError {
  return new TopoflowError('TOPOFLOW_ERR_NOT_FOUND', `${kind} '${id}' not found`)
}

/** Skydive's list endpoints: an object keyed by element ID. */
function keyedById (elements: Iterable<GraphElement>): Record<string, unknown> {
  const out: Record<string, unknown> = {}
  // IDs come from producers: any string, '__proto__' included (see setOwn).
  for (const el of elements) setOwn(out, el.ID, elementJson(el))
  return out
}

/** The fields a new node or edge takes from the request body, with defaults for what it leaves out or zeroes. */
function newElement (b: ElementBody, metadata: Record<string, unknown>, now: number, defaults: { host: string, origin: string }): GraphNode {
  const createdAt = b.CreatedAt !== undefined && b.CreatedAt > 0 ? b.CreatedAt : now
  return {
    ID: b.ID,
    Metadata: metadata,
    Host: b.Host !== undefined && b.Host !== '' ? b.Host : defaults.host,
    Origin: b.Origin !== undefined && b.Origin !== '' ? b.Origin : defaults.origin,
    CreatedAt: createdAt,
    UpdatedAt: b.UpdatedAt !== undefined && b.UpdatedAt > 0 ? b.UpdatedAt : createdAt,
    Revision: b.Revision !== undefined && b.Revision > 0 ? b.Revision : 1
  }
}

/** The element's Metadata after a JSON Patch, which must leave it an object. */
function patchedMetadata (current: GraphElement, patch: unknown[]): Record<string, unknown> {
  const md = applyPatch(elementJson(current), parsePatch(patch)).Metadata
  if (typeof md !== 'object' || md === null || Array.isArray(md)) throw invalid('validating patched resource: Metadata must stay an object')
  return md as Record<string, unknown>
}

/** `/api/node` and `/api/edge`: direct graph editing; writes go out as topology events with origin api.<host_id>. */
export function elementRoutes (app: FastifyInstance, ctx: ApiContext): void {
  const defaults = { host: ctx.config.host_id, origin: `api.${ctx.config.host_id}` }

  // nodes
  app.get('/api/node', { schema: { summary: 'Every node, as an object keyed by ID', tags: ['node'] } }, async () => keyedById(ctx.live.nodes()))

  app.get<{ Params: { id: string } }>('/api/node/:id', { schema: { summary: 'One node', tags: ['node'], params: idParams } }, async (req) => {
    const n = ctx.live.graph.getNode(req.params.id)
    if (n === undefined) throw notFound('Node', req.params.id)
    return elementJson(n)
  })

  app.post<{ Body: ElementBody }>('/api/node', {
    schema: { summary: 'Create a node (needs ID, Metadata.Type, Metadata.Name); 201', tags: ['node'], body: nodeBody }
  }, async (req, reply) => {
    const b = req.body
    const md = b.Metadata ?? {}
    validateNodeMetadata(md)
    if (ctx.live.graph.getNode(b.ID) !== undefined) throw new TopoflowError('TOPOFLOW_ERR_CONFLICT', `Node '${b.ID}' already exists`)
    const stored = await ctx.writer.upsertNode(newElement(b, md, ctx.now(), defaults))
    return reply.code(201).type('application/json; charset=UTF-8').send(elementJson(stored))
  })

  app.patch<{ Params: { id: string }, Body: unknown[] }>('/api/node/:id', {
    schema: { summary: 'Change a node\'s metadata with a JSON Patch (TID, Name and Type are kept); 304 when unchanged', tags: ['node'], params: idParams, body: patchBody }
  }, async (req, reply) => {
    const current = ctx.live.graph.getNode(req.params.id)
    if (current === undefined) throw notFound('Node', req.params.id)
    const metadata = { ...patchedMetadata(current, req.body) }
    // Skydive keeps these whatever the patch says
    for (const key of ['TID', 'Name', 'Type']) {
      if (current.Metadata[key] !== undefined) metadata[key] = current.Metadata[key]
      else Reflect.deleteProperty(metadata, key)
    }
    if (deepEqual(metadata, current.Metadata)) return reply.code(304).send()
    const stored = await ctx.writer.upsertNode({ ...current, Metadata: metadata, UpdatedAt: ctx.now(), Revision: current.Revision + 1 })
    return reply.type('application/json; charset=UTF-8').send(elementJson(stored))
  })

  app.delete<{ Params: { id: string } }>('/api/node/:id', { schema: { summary: 'Delete a node and its edges', tags: ['node'], params: idParams } }, async (req, reply) => {
    const n = ctx.live.graph.getNode(req.params.id)
    if (n === undefined) throw notFound('Node', req.params.id)
    await ctx.writer.deleteNode(n)
    return sendText(reply, 200, '')
  })

  // edges
  app.get('/api/edge', { schema: { summary: 'Every edge, as an object keyed by ID', tags: ['edge'] } }, async () => keyedById(ctx.live.edges()))

  app.get<{ Params: { id: string } }>('/api/edge/:id', { schema: { summary: 'One edge', tags: ['edge'], params: idParams } }, async (req) => {
    const e = ctx.live.graph.getEdge(req.params.id)
    if (e === undefined) throw notFound('Edge', req.params.id)
    return elementJson(e)
  })

  app.post<{ Body: ElementBody & { Parent: string, Child: string } }>('/api/edge', {
    schema: { summary: 'Create an edge (needs ID, Parent, Child, Metadata.RelationType); 201', tags: ['edge'], body: edgeBody }
  }, async (req, reply) => {
    const b = req.body
    const md = b.Metadata ?? {}
    validateEdgeMetadata(md)
    for (const id of [b.Parent, b.Child]) {
      if (ctx.live.graph.getNode(id) === undefined) throw invalid(`Node '${id}' does not exist`)
    }
    if (ctx.live.graph.getEdge(b.ID) !== undefined) throw new TopoflowError('TOPOFLOW_ERR_CONFLICT', `Edge '${b.ID}' already exists`)
    const edge: GraphEdge = { ...newElement(b, md, ctx.now(), defaults), Parent: b.Parent, Child: b.Child }
    const stored = await ctx.writer.upsertEdge(edge)
    return reply.code(201).type('application/json; charset=UTF-8').send(elementJson(stored))
  })

  app.patch<{ Params: { id: string }, Body: unknown[] }>('/api/edge/:id', {
    schema: { summary: 'Change an edge\'s metadata with a JSON Patch; 304 when unchanged', tags: ['edge'], params: idParams, body: patchBody }
  }, async (req, reply) => {
    const current = ctx.live.graph.getEdge(req.params.id)
    if (current === undefined) throw notFound('Edge', req.params.id)
    const metadata = patchedMetadata(current, req.body)
    validateEdgeMetadata(metadata)
    if (deepEqual(metadata, current.Metadata)) return reply.code(304).send()
    const stored = await ctx.writer.upsertEdge({ ...current, Metadata: metadata, UpdatedAt: ctx.now(), Revision: current.Revision + 1 })
    return reply.type('application/json; charset=UTF-8').send(elementJson(stored))
  })

  app.delete<{ Params: { id: string } }>('/api/edge/:id', { schema: { summary: 'Delete an edge', tags: ['edge'], params: idParams } }, async (req, reply) => {
    const e = ctx.live.graph.getEdge(req.params.id)
    if (e === undefined) throw notFound('Edge', req.params.id)
    await ctx.writer.deleteEdge(e)
    return sendText(reply, 200, '')
  })
}
