import { TopoflowError, type ErrorContext } from '@topoflow/core'

interface KafkaJSLikeError extends Error {
  retriable?: boolean
  type?: string
  /** KafkaJSAggregateError (e.g. "Topic creation errors") carries the per-item errors here. */
  errors?: unknown[]
}

/** "type: message" of the first few nested errors, which hold the actual reasons. */
function nestedReasons (err: KafkaJSLikeError): string {
  if (!Array.isArray(err.errors) || err.errors.length === 0) return ''
  const reasons = err.errors.slice(0, 3).map((e) => {
    const { type, message, topic } = (e ?? {}) as { type?: string, message?: string, topic?: string }
    return [topic, type, message].filter((s) => typeof s === 'string' && s !== '').join(': ')
  })
  const more = err.errors.length > 3 ? ` (+${err.errors.length - 3} more)` : ''
  return ` [${reasons.join('; ')}${more}]`
}

/** kafkajs errors all carry a `KafkaJS…` name; matching on it avoids importing its classes here. */
export function isKafkaJSError (err: unknown): err is KafkaJSLikeError {
  return err instanceof Error && err.name.startsWith('KafkaJS')
}

/**
 * Turns anything kafkajs throws into a TopoflowError 'TOPOFLOW_ERR_KAFKA', keeping kafkajs's own
 * verdict on whether another try can help. TopoflowErrors pass through unchanged.
 */
export function toKafkaError (err: unknown, context: ErrorContext = {}): TopoflowError {
  if (TopoflowError.is(err)) return err
  if (isKafkaJSError(err)) {
    const type = err.type === undefined ? '' : ` (${err.type})`
    return new TopoflowError('TOPOFLOW_ERR_KAFKA', `Kafka request failed${type}: ${err.message}${nestedReasons(err)}`, {
      cause: err,
      retriable: err.retriable ?? true,
      context: { ...context, kafkaError: err.name }
    })
  }
  const message = err instanceof Error ? err.message : String(err)
  return new TopoflowError('TOPOFLOW_ERR_KAFKA', `Kafka operation failed: ${message}`, { cause: err, context })
}
