import { execFile } from 'node:child_process'
import { TopoflowError } from '@topoflow/core'

/** Runs a command to completion and returns its stdout. An interface so tests can replay outputs. */
export interface CommandRunner {
  run: (file: string, args: readonly string[], opts?: { input?: string, timeoutMs?: number }) => Promise<string>
}

export const execRunner: CommandRunner = {
  run: async (file, args, opts = {}) => await new Promise<string>((resolve, reject) => {
    const child = execFile(file, args, { timeout: opts.timeoutMs ?? 10_000, maxBuffer: 256 * 1024 * 1024, encoding: 'utf8' }, (err, stdout, stderr) => {
      if (err !== null) {
        reject(new TopoflowError('TOPOFLOW_ERR_PROBE', `Command ${file} ${args.join(' ')} failed: ${stderr.trim() || err.message}`, {
          cause: err,
          retriable: true,
          context: { command: file, exitCode: typeof err.code === 'number' ? err.code : undefined }
        }))
      } else {
        resolve(stdout)
      }
    })
    child.stdin?.on('error', () => {}) // the command may exit before reading its input
    child.stdin?.end(opts.input ?? '')
  })
}
