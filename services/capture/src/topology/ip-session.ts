import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process'
import { TopoflowError } from '@topoflow/core'
import type { CommandRunner } from './runner.ts'

/**
 * A long-lived `ip -batch -` inside one namespace, fed a request at a time on stdin. Starting a
 * process costs far more than the dump it runs (fork, exec, nsenter, ip's start-up: 2–5 ms of CPU
 * each, times every namespace, at every resync); a session pays that once.
 *
 * Framing: stderr goes into the same pipe as stdout (`2>&1`), so everything ip prints comes in the
 * order it ran. After a request's commands we send a command ip does not know; ip, run with
 * `-force`, answers `Command failed -:<line>` and goes on. The line number of that marker ends the
 * response; a `Command failed` for any other line means one of our commands failed.
 */

/** Not an ip object (nor the prefix of one): ip answers it with `Command failed -:<line>`. */
const marker = 'tf-sync'
const failedLine = /^Command failed .*:(\d+)$/

interface Pending {
  lastLine: number
  firstLine: number
  resolve: (out: string) => void
  reject: (err: Error) => void
  timer: NodeJS.Timeout
}

export class IpSession {
  readonly pid: number | undefined
  private readonly child: ChildProcessWithoutNullStreams
  private readonly describe: string
  private linesSent = 0
  private buffered = ''
  private lines: string[] = []
  /** Lines that are not JSON: ip's diagnostics, which only matter when a command failed. */
  private diagnostics: string[] = []
  private failures: string[] = []
  private pending: Pending | undefined
  private queue: Promise<unknown> = Promise.resolve()
  private exited = false
  private answers = 0

  /** `file args…` must run `ip … -force -batch -`; `onExit` fires once, whatever ended the process. */
  constructor (file: string, args: readonly string[], onExit: (session: IpSession) => void) {
    this.describe = `${file} ${args.join(' ')}`
    this.child = spawn('/bin/sh', ['-c', 'exec "$0" "$@" 2>&1', file, ...args], { stdio: ['pipe', 'pipe', 'pipe'] })
    this.pid = this.child.pid
    this.child.stdout.setEncoding('utf8')
    this.child.stdout.on('data', (chunk: string) => this.onData(chunk))
    this.child.stderr.resume() // only sh itself could write here, e.g. when it cannot exec the command
    this.child.stdin.on('error', () => {}) // ip gone: the exit handler reports it
    let reported = false
    const exited = (why: string): void => {
      this.exited = true
      this.fail(new TopoflowError('TOPOFLOW_ERR_PROBE', `${this.describe} ${why}`, { retriable: true, context: { command: file } }))
      if (!reported) {
        reported = true
        onExit(this)
      }
    }
    this.child.on('error', (err) => exited(`could not run: ${err.message}`))
    this.child.on('close', (code, signal) => exited(`exited (${signal ?? String(code)})`))
  }

  get alive (): boolean {
    return !this.exited
  }

  /** Whether a request was answered: ip is running inside its namespace by then. */
  get answered (): boolean {
    return this.answers > 0
  }

  /** Runs the newline-separated commands of `input`; resolves with what they printed, in order. */
  async run (input: string, timeoutMs: number): Promise<string> {
    const next = this.queue.then(async () => await this.request(input, timeoutMs))
    this.queue = next.catch(() => {})
    return await next
  }

  close (): void {
    this.exited = true
    this.fail(new TopoflowError('TOPOFLOW_ERR_PROBE', `${this.describe} was closed`, { retriable: true }))
    this.child.kill('SIGTERM')
  }

  private async request (input: string, timeoutMs: number): Promise<string> {
    if (this.exited) throw new TopoflowError('TOPOFLOW_ERR_PROBE', `${this.describe} is not running`, { retriable: true })
    const commands = input.split('\n').map(l => l.trim()).filter(l => l !== '')
    const firstLine = this.linesSent + 1
    this.linesSent += commands.length + 1
    const lastLine = this.linesSent
    this.lines = []
    this.diagnostics = []
    this.failures = []
    return await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => {
        // Where ip's output stands is unknown now: this session cannot be trusted with another request.
        this.fail(new TopoflowError('TOPOFLOW_ERR_PROBE', `${this.describe} did not answer within ${timeoutMs} ms`, { retriable: true }))
        this.close()
      }, timeoutMs)
      this.pending = { firstLine, lastLine, resolve, reject, timer }
      this.child.stdin.write([...commands, marker].join('\n') + '\n')
    })
  }

  private onData (chunk: string): void {
    const text = this.buffered + chunk
    const end = text.lastIndexOf('\n')
    this.buffered = text.slice(end + 1)
    if (end < 0) return
    for (const line of text.slice(0, end).split('\n')) this.onLine(line)
  }

  private onLine (line: string): void {
    const p = this.pending
    if (p === undefined) return // the tail of a request that timed out
    const failed = failedLine.exec(line)
    if (failed === null) {
      // ip prints each command's JSON on one line; anything else is a diagnostic.
      if (line.startsWith('[') || line.startsWith('{')) this.lines.push(line)
      else if (line.trim() !== '' && !line.includes(`"${marker}"`)) this.diagnostics.push(line.trim())
      return
    }
    const lineNo = Number(failed[1])
    if (lineNo < p.firstLine) return // the marker of an abandoned request
    if (lineNo !== p.lastLine) {
      this.failures.push(line) // a command of ours failed: reported once ip is past the marker
      return
    }
    this.pending = undefined
    clearTimeout(p.timer)
    this.answers++
    // As with a command's exit status: a warning alone is no failure.
    if (this.failures.length > 0) {
      p.reject(new TopoflowError('TOPOFLOW_ERR_PROBE', `${this.describe} failed: ${[...this.diagnostics, ...this.failures].join('; ')}`, { retriable: true }))
    } else {
      p.resolve(this.lines.join('\n') + '\n')
    }
  }

  private fail (err: Error): void {
    const p = this.pending
    if (p === undefined) return
    this.pending = undefined
    clearTimeout(p.timer)
    p.reject(err)
  }
}

/**
 * One {@link IpSession} per namespace key, started on the first read and replaced when it dies.
 * Each namespace gets a {@link CommandRunner} so that readers stay unaware of sessions.
 */
export class IpSessionPool {
  private readonly sessions = new Map<string, IpSession>()
  private readonly onSpawn: (pid: number) => void
  private readonly onExit: (pid: number) => void
  private closed = false

  /** `onSpawn`/`onExit` let the agent keep its own processes out of namespace discovery and socket scans. */
  constructor (hooks: { onSpawn: (pid: number) => void, onExit: (pid: number) => void }) {
    this.onSpawn = hooks.onSpawn
    this.onExit = hooks.onExit
  }

  get size (): number {
    return this.sessions.size
  }

  pids (): number[] {
    return [...this.sessions.values()].flatMap(s => s.pid === undefined ? [] : [s.pid])
  }

  /** The process of a namespace's session, once it has answered a request (so is inside the namespace). */
  pidOf (key: string): number | undefined {
    const session = this.sessions.get(key)
    return session?.alive === true && session.answered ? session.pid : undefined
  }

  runnerFor (key: string): CommandRunner {
    return {
      run: async (file, args, opts = {}) => {
        if (this.closed) throw new TopoflowError('TOPOFLOW_ERR_PROBE', 'The ip sessions are closed', { retriable: false })
        let session = this.sessions.get(key)
        if (session === undefined || !session.alive) {
          session = new IpSession(file, args, (s) => {
            if (s.pid !== undefined) this.onExit(s.pid)
            if (this.sessions.get(key) === s) this.sessions.delete(key)
          })
          if (session.pid !== undefined) this.onSpawn(session.pid)
          this.sessions.set(key, session)
        }
        return await session.run(opts.input ?? '', opts.timeoutMs ?? 10_000)
      }
    }
  }

  /** Ends the session of a namespace that is gone (its process would otherwise keep it alive). */
  stop (key: string): void {
    this.sessions.get(key)?.close()
    this.sessions.delete(key)
  }

  close (): void {
    this.closed = true
    for (const s of this.sessions.values()) s.close()
    this.sessions.clear()
  }
}
