import type { Logger } from './log.ts'

/** Every source, sink, stage runner and service has this shape; close() is safe before start() and twice. */
export interface Component {
  start(): Promise<void>
  close(): Promise<void>
}

/** Closes components in reverse start order; gives up on the rest once the deadline passes. */
export async function closeAll (components: Component[], opts: { deadlineMs?: number, logger?: Logger } = {}): Promise<void> {
  const deadline = Date.now() + (opts.deadlineMs ?? 10_000)
  for (const c of [...components].reverse()) {
    const left = deadline - Date.now()
    if (left <= 0) {
      opts.logger?.warn('Shutdown deadline passed; remaining components not closed')
      return
    }
    let timer: NodeJS.Timeout | undefined
    try {
      await Promise.race([c.close(), new Promise((resolve) => { timer = setTimeout(resolve, left) })])
    } catch (err) {
      opts.logger?.error({ err }, 'Component failed to close')
    } finally {
      clearTimeout(timer)
    }
  }
}
