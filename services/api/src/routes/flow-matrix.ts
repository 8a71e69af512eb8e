import type { FastifyInstance } from 'fastify'
import type { ApiContext } from '../context.ts'
import { toCsv, toDot, toJson } from '../flow-matrix/format.ts'
import { collectMatrix } from '../flow-matrix/matrix.ts'
import { renderSvg } from '../flow-matrix/svg.ts'

interface MatrixQuery { format?: 'csv' | 'dot' | 'json' | 'svg', at?: string, duration?: number, useFlows?: boolean }

/** `GET /api/flowmatrix`: skydive-flow-matrix computed inside the API, with the same queries. */
export function flowMatrixRoutes (app: FastifyInstance, ctx: ApiContext): void {
  app.get<{ Querystring: MatrixQuery }>('/api/flowmatrix', {
    schema: {
      summary: 'Who talks to whom (server and client processes) as skydive-flow-matrix CSV, DOT, JSON or SVG',
      tags: ['flow matrix'],
      querystring: {
        type: 'object',
        properties: {
          format: { type: 'string', enum: ['csv', 'dot', 'json', 'svg'], default: 'csv' },
          at: { type: 'string', maxLength: 64, description: 'Gremlin time: -10m, an RFC1123 date, epoch seconds or ms' },
          duration: { type: 'integer', minimum: 0, description: 'seconds before `at`' },
          useFlows: { type: 'boolean', default: false }
        },
        additionalProperties: false
      }
    }
  }, async (req, reply) => {
    const q = req.query
    const opts: { at?: string, duration?: number, useFlows?: boolean } = { useFlows: q.useFlows === true }
    if (q.at !== undefined) opts.at = q.at
    if (q.duration !== undefined) opts.duration = q.duration
    const result = await collectMatrix(ctx.query, opts) ?? { entries: [], unknown: [] }
    switch (q.format ?? 'csv') {
      case 'dot': return reply.type('text/vnd.graphviz; charset=utf-8').send(toDot(result))
      case 'json': return reply.type('application/json; charset=utf-8').send(toJson(result))
      case 'svg': return reply.type('image/svg+xml').send(renderSvg(result))
      default: return reply.type('text/csv; charset=utf-8').send(toCsv(result))
    }
  })
}
