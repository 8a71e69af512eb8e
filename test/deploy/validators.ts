import { execFileSync } from 'node:child_process'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { TestContext } from 'node:test'

export const repoRoot = fileURLToPath(new URL('../..', import.meta.url))

export interface Venv {
  /** absolute path of a program installed in the venv */
  bin: (name: string) => string
}

let cached: { venv: string } | { error: string } | undefined

/**
 * The venv with kubernetes-validate and ansible-core (deploy/scripts/setup-validators.sh installs it
 * once from PyPI). Outside CI a machine that cannot install it skips the test with the reason; in CI
 * (CI=true) that is a failure, so a broken install never passes as a green run.
 */
export function deployVenv (t: TestContext): Venv | null {
  cached ??= install()
  if ('venv' in cached) {
    const venv = cached.venv
    return { bin: (name) => join(venv, 'bin', name) }
  }
  if (process.env.CI === 'true') throw new Error(`the deploy validators are required in CI but could not be installed: ${cached.error}`)
  t.skip(`deploy validators unavailable: ${cached.error}`)
  return null
}

function install (): { venv: string } | { error: string } {
  try {
    const out = execFileSync('bash', [join(repoRoot, 'deploy/scripts/setup-validators.sh')], {
      cwd: repoRoot, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 300_000
    })
    const venv = out.trim().split('\n').pop() ?? ''
    return venv === '' ? { error: 'setup-validators.sh printed no venv path' } : { venv }
  } catch (err) {
    const e = err as { stderr?: string, message: string }
    return { error: (e.stderr ?? '').trim() || e.message }
  }
}

/** Runs a program, returning its exit code and output instead of throwing, for assertions that show both. */
export function run (file: string, args: string[], opts: { cwd?: string, env?: NodeJS.ProcessEnv, timeoutMs?: number } = {}): { status: number, output: string } {
  try {
    const stdout = execFileSync(file, args, {
      cwd: opts.cwd ?? repoRoot,
      env: opts.env ?? process.env,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
      timeout: opts.timeoutMs ?? 120_000
    })
    return { status: 0, output: stdout }
  } catch (err) {
    const e = err as { status?: number | null, stdout?: string, stderr?: string, message: string }
    return { status: e.status ?? -1, output: `${e.stdout ?? ''}${e.stderr ?? ''}` || e.message }
  }
}
