import { spawn, type ChildProcess } from 'node:child_process'
import { rmSync } from 'node:fs'
import { createConnection, createServer, type Server } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

const childScript = fileURLToPath(new URL('./ns-bridge-child.mjs', import.meta.url))

/**
 * Makes 127.0.0.1:<port> of this (root) namespace reachable as 127.0.0.1:<port> inside another
 * network namespace, for each port: a process there accepts and pipes through a Unix socket to us,
 * and we connect on. So a capture agent that plays a host of its own in a namespace reaches the
 * broker at the very address the broker advertises.
 */
export class NamespaceBridge {
  readonly #servers: Server[] = []
  readonly #children: ChildProcess[] = []
  readonly #paths: string[] = []

  static async open (netns: string, ports: number[]): Promise<NamespaceBridge> {
    const bridge = new NamespaceBridge()
    try {
      for (const port of ports) await bridge.#add(netns, port)
    } catch (err) {
      bridge.close()
      throw err
    }
    return bridge
  }

  async #add (netns: string, port: number): Promise<void> {
    const path = join(tmpdir(), `tf-bridge-${process.pid}-${netns}-${port}.sock`)
    rmSync(path, { force: true })
    this.#paths.push(path)
    const server = createServer((outside) => {
      const target = createConnection(port, '127.0.0.1')
      outside.pipe(target).pipe(outside)
      outside.on('error', () => target.destroy())
      target.on('error', () => outside.destroy())
    })
    this.#servers.push(server)
    await new Promise<void>((resolve, reject) => { server.once('error', reject); server.listen(path, resolve) })
    const child = spawn('ip', ['netns', 'exec', netns, process.execPath, childScript, String(port), path], { stdio: ['pipe', 'pipe', 'pipe'] })
    this.#children.push(child)
    await new Promise<void>((resolve, reject) => {
      let stderr = ''
      child.stderr?.on('data', (d: Buffer) => { stderr += d.toString() })
      child.stdout?.once('data', () => resolve())
      child.once('exit', (code) => reject(new Error(`bridge into ${netns}:${port} exited (${code}): ${stderr}`)))
    })
  }

  close (): void {
    for (const child of this.#children) { child.stdin?.end(); child.kill() }
    for (const server of this.#servers) server.close()
    for (const path of this.#paths) rmSync(path, { force: true })
  }
}
