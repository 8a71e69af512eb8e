import { test } from 'node:test'
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { createServer } from 'node:net'
import { fileURLToPath } from 'node:url'
import { hostname } from 'node:os'

const root = fileURLToPath(new URL('../..', import.meta.url))

async function freePort (): Promise<number> {
  return await new Promise((resolve, reject) => {
    const s = createServer()
    s.once('error', reject)
    s.listen(0, '127.0.0.1', () => { const { port } = s.address() as { port: number }; s.close(() => resolve(port)) })
  })
}

async function gremlin (port: number, query: string): Promise<unknown> {
  const res = await fetch(`http://127.0.0.1:${port}/api/topology`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ GremlinQuery: query }) })
  assert.equal(res.status, 200, await res.clone().text())
  return await res.json()
}

test('topoflow allinone answers within 10 s and shows this host', async (t) => {
  const port = await freePort()
  const started = Date.now()
  // Without Kafka settings the all-in-one runs on its in-process bus, as on a laptop.
  const env = { ...process.env, KAFKA_BROKERS: '', OPENSEARCH_URL: '', TOPOFLOW_LOGGING_LEVEL: 'warn' }
  const child = spawn(process.execPath, ['packages/cli/bin/topoflow.js', 'allinone', '--listen', `127.0.0.1:${port}`], { cwd: root, env, stdio: ['ignore', 'ignore', 'pipe'] })
  let stderr = ''
  child.stderr.on('data', (b: Buffer) => { stderr += b.toString() })
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)))
  t.after(() => { if (child.exitCode === null) child.kill('SIGKILL') })

  let hosts: Array<{ Metadata: { Type: string, Hostname: string } }> = []
  while (Date.now() - started < 10_000) {
    try {
      hosts = await gremlin(port, "G.V().Has('Type', 'host')") as typeof hosts
      if (hosts.length > 0) break
    } catch { /* not listening yet */ }
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
  // The ready line may follow the first answer by a moment: it is printed once every service started.
  const readyLine = new RegExp(`ready in \\d+ ms: UI and API at http://127\\.0\\.0\\.1:${port}/`)
  while (!readyLine.test(stderr) && Date.now() - started < 10_000) await new Promise((resolve) => setTimeout(resolve, 50))
  const elapsed = Date.now() - started
  assert.equal(hosts.length, 1, `no host node after ${elapsed} ms; stderr: ${stderr}`)
  assert.ok(elapsed < 10_000, `took ${elapsed} ms`)
  assert.equal(hosts[0]?.Metadata.Hostname, hostname())
  assert.match(stderr, readyLine)

  // The host owns the loopback interface, and readiness says so.
  const lo = await gremlin(port, "G.V().Has('Type', 'host').Out().Has('Name', 'lo')") as unknown[]
  assert.equal(lo.length, 1)
  assert.equal((await fetch(`http://127.0.0.1:${port}/readyz`)).status, 200)

  child.kill('SIGINT')
  assert.equal(await exited, 0, `did not shut down cleanly: ${stderr}`)
  assert.match(stderr, /SIGINT: shutting down/)
})
