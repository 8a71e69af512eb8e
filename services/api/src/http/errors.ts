import { TopoflowError, type ErrorCode } from '@topoflow/core'
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify'

const statusOf: Partial<Record<ErrorCode, number>> = {
  TOPOFLOW_ERR_NOT_FOUND: 404,
  TOPOFLOW_ERR_CONFLICT: 409,
  TOPOFLOW_ERR_INVALID_REQUEST: 400,
  TOPOFLOW_ERR_GREMLIN_SYNTAX: 400,
  TOPOFLOW_ERR_GREMLIN_EVAL: 400,
  TOPOFLOW_ERR_UNAUTHORIZED: 401,
  TOPOFLOW_ERR_TIMEOUT: 503,
  TOPOFLOW_ERR_NOT_IMPLEMENTED: 501,
  TOPOFLOW_ERR_CONFIG: 400
}

/** Routes whose clients (Skydive's) read errors as plain text; the others answer `{ code, message }`. */
export function isSkydiveRoute (url: string): boolean {
  const path = url.split('?')[0] ?? ''
  if (path === '/login') return true
  if (!path.startsWith('/api')) return false
  return !['/api/openapi.json', '/api/flowmatrix'].includes(path)
}

export function sendText (reply: FastifyReply, status: number, text: string): FastifyReply {
  return reply.code(status).type('text/plain; charset=utf-8').send(text)
}

/** Maps any error to a status and body: plain text for Skydive routes (as Skydive writes them), coded JSON elsewhere. */
export function errorHandler (err: FastifyError | Error, req: FastifyRequest, reply: FastifyReply): FastifyReply {
  let status: number
  let code: string
  let message = err.message
  if (TopoflowError.is(err)) {
    status = statusOf[err.code] ?? 500
    code = err.code
  } else {
    const fe = err as FastifyError
    status = typeof fe.statusCode === 'number' && fe.statusCode >= 400 ? fe.statusCode : 500
    code = fe.code ?? 'TOPOFLOW_ERR_INTERNAL'
    if (fe.validation !== undefined) {
      code = 'TOPOFLOW_ERR_INVALID_REQUEST'
      message = `invalid request: ${err.message}`
    } else if (fe.code === 'FST_ERR_CTP_BODY_TOO_LARGE') {
      message = `request body is larger than the limit of ${req.routeOptions.bodyLimit ?? '?'} bytes`
    }
  }
  if (status >= 500 && status !== 503 && status !== 501) {
    req.log.error({ err }, 'Request failed')
    message = 'internal error; see the API logs'
  }
  if (isSkydiveRoute(req.url)) return sendText(reply, status, message)
  return reply.code(status).send({ code, message })
}
