import { existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { ScriptService } from './infra-scripts.ts'

// Several test processes (and people) may share the servers scripts/infra runs from one checkout.
// Each process that uses them holds a lease (a file named after its pid). Servers that a test
// process started carry a marker; the last lease holder to exit stops them. Servers started by hand
// (up.sh) carry no marker and are left running.

const repoRoot = fileURLToPath(new URL('../../../', import.meta.url))

export function infraCacheDir (env: NodeJS.ProcessEnv): string {
  return env.TOPOFLOW_INFRA_CACHE ?? join(repoRoot, '.cache', 'infra')
}

function leasesDir (env: NodeJS.ProcessEnv): string {
  return join(infraCacheDir(env), 'run', 'leases')
}

function markerPath (env: NodeJS.ProcessEnv, service: ScriptService): string {
  return join(infraCacheDir(env), 'run', service, 'started-by-tests')
}

function alive (pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (err) {
    // EPERM: the process exists but belongs to someone else.
    return (err as NodeJS.ErrnoException).code === 'EPERM'
  }
}

/** Takes this process's lease; do it before looking at the servers, so no one stops them meanwhile. */
export function takeLease (env: NodeJS.ProcessEnv, pid = process.pid): void {
  mkdirSync(leasesDir(env), { recursive: true })
  writeFileSync(join(leasesDir(env), String(pid)), '')
}

/** Marks a server as started by tests, so the last lease holder stops it. */
export function markStartedByTests (env: NodeJS.ProcessEnv, service: ScriptService): void {
  mkdirSync(dirname(markerPath(env, service)), { recursive: true })
  writeFileSync(markerPath(env, service), String(process.pid))
}

/** True when the server carries the started-by-tests marker. */
export function isStartedByTests (env: NodeJS.ProcessEnv, service: ScriptService): boolean {
  return existsSync(markerPath(env, service))
}

/**
 * Drops this process's lease (and those of dead processes). When no live lease is left, returns the
 * services that tests started and clears their markers: the caller stops them. Synchronous, for 'exit'.
 */
export function releaseLease (env: NodeJS.ProcessEnv, pid = process.pid): ScriptService[] {
  const dir = leasesDir(env)
  rmSync(join(dir, String(pid)), { force: true })
  let others: string[] = []
  try {
    others = readdirSync(dir)
  } catch {
    // No leases directory: nobody else holds one.
  }
  const live = others.filter((name) => {
    const other = Number(name)
    if (Number.isInteger(other) && other > 0 && alive(other)) return true
    rmSync(join(dir, name), { force: true })
    return false
  })
  if (live.length > 0) return []
  const toStop = (['kafka', 'opensearch'] as const).filter((service) => isStartedByTests(env, service))
  for (const service of toStop) rmSync(markerPath(env, service), { force: true })
  return toStop
}
