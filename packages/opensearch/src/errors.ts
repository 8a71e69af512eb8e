import { TopoflowError, type ErrorContext } from '@topoflow/core'

interface ClientErrorLike extends Error {
  statusCode?: number
  meta?: { statusCode?: number | null, body?: unknown }
}

// Errors of @opensearch-project/opensearch that mean "the request never got an answer".
const transportFailures = new Set(['ConnectionError', 'TimeoutError', 'NoLivingConnectionsError', 'RequestAbortedError'])

/** Whole-request statuses worth another try: overload, server trouble, and credentials an operator can fix. */
export function isRetriableStatus (status: number): boolean {
  return status === 429 || status === 408 || status === 401 || status === 403 || status >= 500
}

/** HTTP status of a client error, when the server answered. */
export function statusOf (err: unknown): number | undefined {
  if (!(err instanceof Error)) return undefined
  const e = err as ClientErrorLike
  return e.meta?.statusCode ?? e.statusCode ?? undefined
}

/** `type: reason` of an OpenSearch error body, when there is one. */
export function reasonOf (body: unknown): string | undefined {
  if (typeof body !== 'object' || body === null) return undefined
  const error = (body as { error?: unknown }).error
  if (typeof error === 'string') return error
  if (typeof error !== 'object' || error === null) return undefined
  const { type, reason } = error as { type?: unknown, reason?: unknown }
  return [type, reason].filter((s) => typeof s === 'string').join(': ') || undefined
}

/** Turns an OpenSearch client error into TOPOFLOW_ERR_OPENSEARCH, retriable when trying again can help. */
export function toOpenSearchError (err: unknown, context: ErrorContext = {}): TopoflowError {
  if (TopoflowError.is(err)) return err
  const status = statusOf(err)
  const name = err instanceof Error ? err.name : 'Error'
  const reason = reasonOf((err as ClientErrorLike | undefined)?.meta?.body) ?? (err instanceof Error ? err.message : String(err))
  const retriable = transportFailures.has(name) || (status !== undefined && isRetriableStatus(status))
  const what = status === undefined ? name : `status ${status}`
  return new TopoflowError('TOPOFLOW_ERR_OPENSEARCH', `OpenSearch request failed (${what}): ${reason}`, {
    cause: err,
    retriable,
    context: status === undefined ? context : { ...context, status }
  })
}
