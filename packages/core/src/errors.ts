/**
 * Every error Topoflow raises carries one of these codes. `docs/errors.md` lists them and a test keeps
 * the two in sync. Add a code here when a caller, an operator or a metric needs to tell it apart.
 */
export const errorCodes = [
  'TOPOFLOW_ERR_CONFIG',
  'TOPOFLOW_ERR_DECODE',
  'TOPOFLOW_ERR_ENCODE',
  'TOPOFLOW_ERR_SCHEMA',
  'TOPOFLOW_ERR_KAFKA',
  'TOPOFLOW_ERR_SINK_REJECTED',
  'TOPOFLOW_ERR_OPENSEARCH',
  'TOPOFLOW_ERR_BACKPRESSURE',
  'TOPOFLOW_ERR_PACKET',
  'TOPOFLOW_ERR_PCAP_FORMAT',
  'TOPOFLOW_ERR_CAPTURE',
  'TOPOFLOW_ERR_PROBE',
  'TOPOFLOW_ERR_GREMLIN_SYNTAX',
  'TOPOFLOW_ERR_GREMLIN_EVAL',
  'TOPOFLOW_ERR_FABRIC',
  'TOPOFLOW_ERR_NOT_FOUND',
  'TOPOFLOW_ERR_CONFLICT',
  'TOPOFLOW_ERR_INVALID_REQUEST',
  'TOPOFLOW_ERR_UNAUTHORIZED',
  'TOPOFLOW_ERR_INFRA',
  'TOPOFLOW_ERR_NOT_IMPLEMENTED',
  'TOPOFLOW_ERR_TIMEOUT',
  'TOPOFLOW_ERR_INTERNAL'
] as const

export type ErrorCode = (typeof errorCodes)[number]

export interface ErrorContext {
  topic?: string
  partition?: number
  offset?: string
  stage?: string
  [key: string]: unknown
}

const brand = Symbol.for('topoflow.error')

/**
 * The one error class of Topoflow. `retriable` tells retry loops whether trying again can help;
 * permanent errors (undecodable input, schema mismatch) go to the dead-letter topic instead.
 */
export class TopoflowError extends Error {
  readonly code: ErrorCode
  readonly retriable: boolean
  readonly context: ErrorContext
  readonly [brand] = true

  constructor (code: ErrorCode, message: string, opts: { cause?: unknown, retriable?: boolean, context?: ErrorContext } = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause })
    this.name = 'TopoflowError'
    this.code = code
    this.retriable = opts.retriable ?? false
    this.context = opts.context ?? {}
  }

  static is (value: unknown): value is TopoflowError {
    return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[brand] === true
  }

  toJSON (): Record<string, unknown> {
    return { code: this.code, message: this.message, retriable: this.retriable, ...this.context }
  }
}

/** Wraps anything thrown into a TopoflowError, keeping the original as `cause`. */
export function toTopoflowError (err: unknown, fallback: ErrorCode = 'TOPOFLOW_ERR_INTERNAL'): TopoflowError {
  if (TopoflowError.is(err)) return err
  const message = err instanceof Error ? err.message : String(err)
  return new TopoflowError(fallback, message, { cause: err })
}
