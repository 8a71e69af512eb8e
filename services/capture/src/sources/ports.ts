import { TopoflowError } from '@topoflow/core'

/**
 * Binds the first free port of [min, max] with `bind(port)`, which rejects with EADDRINUSE (or
 * EACCES) for a port that is taken; other errors stop the search.
 */
export async function bindInRange<T> (what: string, address: string, min: number, max: number, bind: (port: number) => Promise<T>): Promise<{ port: number, value: T }> {
  if (!Number.isInteger(min) || !Number.isInteger(max) || min < 1 || max > 65535 || min > max) {
    throw new TopoflowError('TOPOFLOW_ERR_CONFIG', `${what}: invalid port range ${min}-${max}`)
  }
  let lastError: unknown
  for (let port = min; port <= max; port++) {
    try {
      return { port, value: await bind(port) }
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code
      if (code !== 'EADDRINUSE' && code !== 'EACCES') {
        throw new TopoflowError('TOPOFLOW_ERR_CAPTURE', `${what}: cannot listen on ${address}:${port}: ${(err as Error).message}`, { cause: err })
      }
      lastError = err
    }
  }
  throw new TopoflowError('TOPOFLOW_ERR_CAPTURE', `${what}: no free port on ${address} in ${min}-${max}`, { cause: lastError })
}

export function hostPort (address: string, port: number): string {
  return address.includes(':') ? `[${address}]:${port}` : `${address}:${port}`
}
