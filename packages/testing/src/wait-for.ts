import { setTimeout as sleep } from 'node:timers/promises'
import { TopoflowError } from '@topoflow/core'

export interface WaitForOptions {
  /** Milliseconds between two checks (default 50). */
  interval?: number
  /** Milliseconds before giving up (default 10 000). */
  timeout?: number
  /** What we wait for, for the timeout message. */
  what?: string
}

/**
 * Polls `cond` until it returns a truthy value, and resolves with that value. A check that throws
 * counts as "not yet" (a broker still starting refuses connections); its error is kept as the cause
 * of the timeout so a test that fails says why.
 */
export async function waitFor<T> (cond: () => T | Promise<T>, opts: WaitForOptions = {}): Promise<Exclude<T, false | 0 | '' | null | undefined>> {
  const interval = opts.interval ?? 50
  const timeout = opts.timeout ?? 10_000
  if (!Number.isFinite(interval) || interval < 0) throw new TypeError(`waitFor: interval must be a number >= 0, got ${String(interval)}`)
  if (!Number.isFinite(timeout) || timeout < 0) throw new TypeError(`waitFor: timeout must be a number >= 0, got ${String(timeout)}`)
  const deadline = Date.now() + timeout
  let lastError: unknown
  for (;;) {
    try {
      const value = await cond()
      if (value) return value as Exclude<T, false | 0 | '' | null | undefined>
    } catch (err) {
      lastError = err
    }
    if (Date.now() >= deadline) {
      const what = opts.what ?? 'condition'
      const why = lastError === undefined ? '' : `; last check threw: ${lastError instanceof Error ? lastError.message : String(lastError)}`
      throw new TopoflowError('TOPOFLOW_ERR_TIMEOUT', `Timed out after ${timeout} ms waiting for ${what}${why}`, {
        cause: lastError,
        retriable: true
      })
    }
    await sleep(Math.min(interval, Math.max(0, deadline - Date.now())))
  }
}
