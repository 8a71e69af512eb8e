import { TopoflowError } from '@topoflow/core'
import { elementJson } from '@topoflow/gremlin'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import type { ApiContext } from '../context.ts'
import { graphToDot } from '../graph/dot.ts'
import { asGraphResult, isQueryTooSlow } from '../graph/query.ts'
import { sendText } from '../http/errors.ts'

function wantsDot (req: FastifyRequest): boolean {
  return (req.headers.accept ?? '').includes('vnd.graphviz')
}

function json (reply: FastifyReply, body: unknown): FastifyReply {
  return reply.type('application/json; charset=UTF-8').send(JSON.stringify(body))
}

/** `GET /api/topology` (the whole graph) and `POST /api/topology` (a Gremlin query, Skydive's result shapes). */
export function topologyRoutes (app: FastifyInstance, ctx: ApiContext): void {
  app.get('/api/topology', {
    schema: { summary: 'The whole live graph as {Nodes, Edges} (DOT with Accept: text/vnd.graphviz)', tags: ['topology'] }
  }, async (req, reply) => {
    const nodes = [...ctx.live.nodes()].sort((a, b) => a.CreatedAt - b.CreatedAt)
    const edges = ctx.live.edges()
    if (wantsDot(req)) return reply.type('text/vnd.graphviz; charset=UTF-8').send(graphToDot(nodes, edges))
    return json(reply, { Nodes: nodes.map(elementJson), Edges: edges.map(elementJson) })
  })

  app.post<{ Body: { GremlinQuery?: string } | undefined }>('/api/topology', {
    schema: {
      summary: 'Run a Gremlin query (Skydive dialect); 204 when the query is empty, 400 with the error text when it is wrong',
      tags: ['topology'],
      body: { type: 'object', properties: { GremlinQuery: { type: 'string', maxLength: 65536 } } }
    }
  }, async (req, reply) => {
    const query = req.body?.GremlinQuery ?? ''
    if (query.trim() === '') return reply.code(204).send()
    const dot = wantsDot(req)
    let result: unknown
    try {
      // DOT needs the result itself; JSON comes as text, with elements serialized once per revision
      result = dot ? await ctx.query(query) : await ctx.queryText(query)
      ctx.metrics.gremlinQueries.inc({ outcome: 'ok' })
    } catch (err) {
      const timeout = TopoflowError.is(err) && err.code === 'TOPOFLOW_ERR_TIMEOUT'
      ctx.metrics.gremlinQueries.inc({ outcome: timeout ? 'timeout' : 'error' })
      // too expensive a query is the client's to fix, like any query error (Skydive answers 400)
      if (isQueryTooSlow(err)) return sendText(reply, 400, `${err.message}; narrow the query (Has, Limit, fewer hops)`)
      if (TopoflowError.is(err)) throw err
      // the engine must only throw coded errors; anything else is still the query's fault, not a 500
      req.log.warn({ err, query }, 'Gremlin engine threw an uncoded error')
      throw new TopoflowError('TOPOFLOW_ERR_GREMLIN_EVAL', (err as Error).message ?? String(err), { cause: err })
    }
    if (dot) {
      const graph = asGraphResult(result)
      if (graph === undefined) return sendText(reply, 406, 'Only graph can be outputted as dot')
      return reply.type('text/vnd.graphviz; charset=UTF-8').send(graphToDot(graph.Nodes, graph.Edges))
    }
    return reply.type('application/json; charset=UTF-8').send(result)
  })
}
