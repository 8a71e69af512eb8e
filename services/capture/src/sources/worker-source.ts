import { spawn, type ChildProcess } from 'node:child_process'
import { stat } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import { TopoflowError } from '@topoflow/core'
import { PcapStreamReader } from '../flow/index.ts'
import type { LiveBackend, PacketSource, SourceHooks, SourcePacket, SourceStats } from './types.ts'

export interface WorkerSourceOptions {
  iface: string
  bpf: string
  snaplen: number
  backend: LiveBackend
  /** Namespace file to enter; null = the agent's own namespace (no nsenter). */
  netnsPath: string | null
  checkIntervalMs?: number
  /** Seconds to wait for the worker to open the capture. */
  startTimeoutSeconds?: number
  /** See LiveOpenOptions.bufferTimeoutMs. */
  bufferTimeoutMs?: number
  nsenterPath?: string
  /** The worker script (default: netns-worker.ts beside this file). */
  workerPath?: string
}

export const defaultWorkerPath = join(import.meta.dirname, 'netns-worker.ts')

/** Keeps the end of a text stream for error messages, bounded. */
class Tail {
  #text = ''
  add (s: string): void { this.#text = (this.#text + s).slice(-4096) }
  get text (): string { return this.#text.trim() }
}

/**
 * Capture in a worker child process (see netns-worker.ts), entered with nsenter into the
 * interface's network namespace when it has one; it captures there and streams pcap to us. Worker exit, a broken
 * stream or the namespace file vanishing (or being replaced) end the source with onError.
 */
export class WorkerSource implements PacketSource {
  readonly kind = 'worker' as const
  readonly #opts: WorkerSourceOptions
  #child: ChildProcess | undefined
  #closing = false
  #failed = false
  #stats: SourceStats = { received: 0, dropped: 0 }
  #timer: NodeJS.Timeout | undefined
  #exited: Promise<void> = Promise.resolve()

  constructor (opts: WorkerSourceOptions) {
    this.#opts = opts
  }

  get backend (): LiveBackend { return this.#opts.backend }

  async start (onPacket: (packet: SourcePacket) => void, hooks: SourceHooks = {}): Promise<void> {
    const o = this.#opts
    const netnsPath = o.netnsPath
    const where = netnsPath === null ? o.iface : `${o.iface} in ${netnsPath}`
    let ns: { ino: number, dev: number } | undefined
    if (netnsPath !== null) {
      try {
        ns = await stat(netnsPath)
      } catch (err) {
        throw new TopoflowError('TOPOFLOW_ERR_CAPTURE', `Cannot capture on ${where}: namespace not found (${(err as Error).message})`, { cause: err, context: { iface: o.iface, netns: netnsPath } })
      }
    }
    const worker = o.workerPath ?? defaultWorkerPath
    const nodeArgs = ['--import', 'tsx', worker, o.iface, o.bpf, String(o.snaplen), o.backend, `--buffer-timeout-ms=${o.bufferTimeoutMs ?? 0}`]
    const [cmd, args] = netnsPath === null ? [process.execPath, nodeArgs] : [o.nsenterPath ?? 'nsenter', [`--net=${netnsPath}`, process.execPath, ...nodeArgs]]
    const child = spawn(cmd, args, { cwd: dirname(worker), stdio: ['pipe', 'pipe', 'pipe'] })
    this.#child = child
    const tail = new Tail()
    const reader = new PcapStreamReader()
    let ready = false
    let lastError = ''
    const fail = (message: string, cause?: unknown): void => {
      if (this.#closing || this.#failed) return
      this.#failed = true
      this.#stopTimer()
      child.kill('SIGKILL')
      hooks.onError?.(new TopoflowError('TOPOFLOW_ERR_CAPTURE', `Capture on ${where} stopped: ${message}`, { cause, context: { iface: o.iface, netns: netnsPath } }))
    }

    let resolveStart: () => void = () => {}
    let rejectStart: (err: TopoflowError) => void = () => {}
    const started = new Promise<void>((resolve, reject) => { resolveStart = resolve; rejectStart = reject })

    let pending = ''
    child.stderr?.setEncoding('utf8')
    child.stderr?.on('data', (chunk: string) => {
      pending += chunk
      if (pending.length > 65536) pending = pending.slice(-65536)
      let nl: number
      while ((nl = pending.indexOf('\n')) >= 0) {
        const line = pending.slice(0, nl)
        pending = pending.slice(nl + 1)
        let ev: Record<string, unknown> | undefined
        try { ev = JSON.parse(line) as Record<string, unknown> } catch { tail.add(line + '\n') }
        if (ev === undefined || typeof ev !== 'object' || ev === null) continue
        if (ev.event === 'ready') { ready = true; resolveStart() } else if (ev.event === 'stats') {
          this.#stats = { received: Number(ev.received) || 0, dropped: Number(ev.dropped) || 0 }
        } else if (ev.event === 'error') lastError = String(ev.message)
      }
    })

    child.stdout?.on('data', (chunk: Buffer) => {
      if (this.#failed) return
      try {
        reader.push(chunk)
        for (let p = reader.next(); p !== undefined; p = reader.next()) onPacket(p)
      } catch (err) {
        fail(`unreadable pcap stream from the worker: ${(err as Error).message}`, err)
      }
    })

    this.#exited = new Promise<void>((resolve) => {
      child.on('error', (err) => {
        lastError = `cannot run ${cmd}: ${err.message}`
        if (!ready) rejectStart(new TopoflowError('TOPOFLOW_ERR_CAPTURE', `Cannot capture on ${where}: ${lastError}`, { cause: err }))
        resolve()
      })
      child.on('close', (code, signal) => {
        resolve()
        const why = lastError !== '' ? lastError : tail.text !== '' ? tail.text : 'no message'
        if (!ready) {
          // The worker's own message already names the interface: add where it ran.
          const message = lastError !== '' ? (netnsPath === null ? lastError : `${lastError} (namespace ${netnsPath})`) : `Cannot capture on ${where}: ${why}`
          rejectStart(new TopoflowError('TOPOFLOW_ERR_CAPTURE', message, { context: { iface: o.iface, netns: o.netnsPath, exitCode: code, signal } }))
          return
        }
        fail(`worker exited (${signal !== null ? `signal ${signal}` : `code ${String(code)}`}): ${why}`)
      })
    })

    const timeout = setTimeout(() => {
      if (ready) return
      child.kill('SIGKILL')
      rejectStart(new TopoflowError('TOPOFLOW_ERR_TIMEOUT', `Cannot capture on ${where}: the worker did not start within ${o.startTimeoutSeconds ?? 30} s`))
    }, (o.startTimeoutSeconds ?? 30) * 1000)
    try {
      await started
    } finally {
      clearTimeout(timeout)
    }
    if (this.#closing) return

    if (netnsPath === null || ns === undefined) return
    const first = ns
    // The worker keeps the namespace alive even after `ip netns del`: watch its file ourselves.
    this.#timer = setInterval(() => {
      stat(netnsPath).then((now) => {
        if (now.ino !== first.ino || now.dev !== first.dev) fail(`network namespace ${netnsPath} was replaced`)
      }, () => fail(`network namespace ${netnsPath} vanished`))
    }, o.checkIntervalMs ?? 1000)
    this.#timer.unref()
  }

  #stopTimer (): void {
    if (this.#timer !== undefined) clearInterval(this.#timer)
    this.#timer = undefined
  }

  async close (): Promise<void> {
    this.#closing = true
    this.#stopTimer()
    const child = this.#child
    if (child === undefined || child.exitCode !== null || child.signalCode !== null) return
    child.kill('SIGTERM')
    const killer = setTimeout(() => child.kill('SIGKILL'), 2000)
    await this.#exited
    clearTimeout(killer)
  }

  stats (): SourceStats {
    return this.#stats
  }
}
