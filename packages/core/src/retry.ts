import { TopoflowError } from './errors.ts'

export const retryDefaults = { retries: 5, minDelayMs: 100, maxDelayMs: 10_000, factor: 2 } as const

export interface RetryOptions {
  retries?: number
  minDelayMs?: number
  maxDelayMs?: number
  factor?: number
  /** Which failures are worth another try; by default TopoflowErrors flagged retriable. */
  isRetriable?: (err: unknown) => boolean
  onRetry?: (err: unknown, attempt: number, delayMs: number) => void
  signal?: AbortSignal
}

/** Exponential backoff with full jitter: the delay is random in [0, min(max, min*factor^attempt)]. */
export function backoffDelay (attempt: number, opts: RetryOptions = {}, random = Math.random): number {
  const min = opts.minDelayMs ?? retryDefaults.minDelayMs
  const max = opts.maxDelayMs ?? retryDefaults.maxDelayMs
  const cap = Math.min(max, min * (opts.factor ?? retryDefaults.factor) ** attempt)
  return Math.round(random() * cap)
}

export async function retry<T> (fn: (attempt: number) => Promise<T>, opts: RetryOptions = {}): Promise<T> {
  const retries = opts.retries ?? retryDefaults.retries
  const isRetriable = opts.isRetriable ?? ((err: unknown) => TopoflowError.is(err) && err.retriable)
  for (let attempt = 0; ; attempt++) {
    try {
      return await fn(attempt)
    } catch (err) {
      if (attempt >= retries || !isRetriable(err) || opts.signal?.aborted === true) throw err
      const delay = backoffDelay(attempt, opts)
      opts.onRetry?.(err, attempt + 1, delay)
      await new Promise((resolve) => setTimeout(resolve, delay))
    }
  }
}
