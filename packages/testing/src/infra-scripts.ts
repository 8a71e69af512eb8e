import { spawn, spawnSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'

/** scripts/infra/ at the repo root: fetch.sh, kafka.sh, opensearch.sh. */
export const infraScriptsDir = fileURLToPath(new URL('../../../scripts/infra/', import.meta.url))

export type ScriptService = 'kafka' | 'opensearch'

export interface ScriptResult {
  code: number
  stdout: string
  stderr: string
}

/** Runs one of the infra scripts with bash; never rejects, the caller reads `code`. */
export async function runInfraScript (script: string, args: string[], env: NodeJS.ProcessEnv): Promise<ScriptResult> {
  return await new Promise((resolve) => {
    const child = spawn('bash', [`${infraScriptsDir}${script}`, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => { stdout += chunk })
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => { stderr += chunk })
    child.on('error', (err) => { resolve({ code: 127, stdout, stderr: `${stderr}${err.message}\n` }) })
    child.on('close', (code) => { resolve({ code: code ?? 1, stdout, stderr }) })
  })
}

/** Stops a service synchronously: the only kind of work allowed in a process 'exit' handler. */
export function stopInfraScriptSync (service: ScriptService, env: NodeJS.ProcessEnv): void {
  spawnSync('bash', [`${infraScriptsDir}${service}.sh`, 'stop'], { env, stdio: 'ignore', timeout: 60_000 })
}

/** Reads a `NAME=value` line the scripts print on stdout. */
export function scriptOutputValue (stdout: string, name: string): string | undefined {
  const prefix = `${name}=`
  const line = stdout.split('\n').map((l) => l.trim()).reverse().find((l) => l.startsWith(prefix))
  return line?.slice(prefix.length)
}

/** The last lines of a script's stderr, without the scripts' own "[infra 12:00:00] " prefix, to say why it failed. */
export function tail (text: string, lines = 8): string {
  return text.trimEnd().split('\n').slice(-lines).map((line) => line.replace(/^\[infra [\d:]+\] /, '')).join('\n')
}
