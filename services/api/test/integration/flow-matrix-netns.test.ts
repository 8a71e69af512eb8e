import { test } from 'node:test'
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { mkdtempSync, readFileSync, readlinkSync, rmSync, truncateSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { TopologyAgent, socketsMessage, topologyMessage } from '@topoflow/capture'
import { createRegistry, InProcessBus, loadConfig, silentLogger } from '@topoflow/core'
import { buildGraphBuilder } from '@topoflow/graph-builder'
import { MemoryGraph } from '@topoflow/gremlin'
import { topics } from '@topoflow/schemas'
import { run, sh, VethPair, waitFor, type Running } from '@topoflow/testing'
import { runFlowMatrixCommand } from '../../src/flow-matrix/command.ts'
import { runApiService } from '../../src/service.ts'
import { compacted } from '../helpers.ts'

interface Socket { Process?: string, Name?: string, LocalAddress: string, LocalPort: number, RemoteAddress: string, RemotePort: number, State: string }

/** What the kernel says a running process is: the socket scan reports the same. */
function processOf (p: Running): { exe: string, comm: string } {
  const pid = p.child.pid ?? 0
  return { exe: readlinkSync(`/proc/${pid}/exe`), comm: readFileSync(`/proc/${pid}/comm`, 'utf8').trim() }
}

function collect (): { out: string, write: (s: string | Uint8Array) => boolean } {
  const c = { out: '', write: (s: string | Uint8Array) => { c.out += String(s); return true } }
  return c
}

/** Parses XML with Python's expat-based parser; returns the root tag and every <text> content. */
function parseXml (xml: string): { root: string, texts: string[] } {
  const script = 'import sys, json, xml.etree.ElementTree as ET\n' +
    'root = ET.fromstring(sys.stdin.buffer.read())\n' +
    'print(json.dumps({"root": root.tag, "texts": [t.text or "" for t in root.iter("{http://www.w3.org/2000/svg}text")]}))'
  return JSON.parse(execFileSync('python3', ['-c', script], { input: xml, encoding: 'utf8' })) as { root: string, texts: string[] }
}

/**
 * A web server in one namespace, curl and wget downloading from it in another; this host's real
 * topology and socket tables come from the capture service's TopologyAgent, through the
 * graph-builder, into the API; `topoflow flow-matrix` then reads them over REST as
 * skydive-flow-matrix would.
 */
test('topoflow flow-matrix names the web server and its two clients across namespaces (CSV and SVG)', { timeout: 180_000 }, async (t) => {
  if (process.getuid?.() !== 0) { t.skip('needs root to create network namespaces'); return }
  const pair = new VethPair('fm')
  pair.create()
  t.after(() => pair.destroy())
  const port = 20000 + (process.pid % 10000)
  const url = `http://${pair.ipB}:${port}/big.bin`

  // 256 MB (sparse) at 20 kB/s: far more than the socket buffers hold, so the server keeps writing
  // and both ends of each download stay ESTABLISHED for the whole test
  const www = mkdtempSync(join(tmpdir(), 'tf-fm-www-'))
  t.after(() => rmSync(www, { recursive: true, force: true }))
  writeFileSync(join(www, 'big.bin'), '')
  truncateSync(join(www, 'big.bin'), 256 * 1024 * 1024)
  const server = run('ip', ['netns', 'exec', pair.nsB, 'python3', '-m', 'http.server', '--bind', pair.ipB, '--directory', www, String(port)])
  const procs: Running[] = [server]
  t.after(() => { for (const p of procs) p.child.kill('SIGKILL') })
  await waitFor(() => {
    try { return sh('ip', ['netns', 'exec', pair.nsA, 'curl', '-s', '-o', '/dev/null', '-w', '%{http_code}', '--max-time', '2', `http://${pair.ipB}:${port}/`]) === '200' } catch { return false }
  }, { timeout: 20_000, interval: 200 })

  const hostId = `fm-${process.pid}`
  const config = loadConfig({ overrides: { host_id: hostId, 'analyzer.auth.api.backend': 'b', auth: { b: { type: 'basic', users: { admin: 'secret' } } } } })
  const logger = silentLogger()
  const registry = createRegistry('flow-matrix-netns', { processMetrics: false })
  const bus = new InProcessBus({ compactedTopics: [...compacted, topics.k8s] })
  const builder = buildGraphBuilder({ config, bus, logger, registry })
  await builder.start()
  t.after(async () => { await builder.close() })
  const api = await runApiService({ config, bus, logger, registry, graph: new MemoryGraph(), listen: { host: '127.0.0.1', port: 0 } })
  t.after(async () => { await api.close() })
  const noNamedNetns = mkdtempSync(join(tmpdir(), 'tf-fm-netns-'))
  t.after(() => rmSync(noNamedNetns, { recursive: true, force: true }))
  const agent = new TopologyAgent({
    hostId,
    logger,
    publish: async (event) => { await bus.publish(topics.topologyEvents, [topologyMessage(event)]) },
    publishSockets: async (event) => { await bus.publish(topics.sockets, [socketsMessage(event)]) },
    intervals: { sockets: 500 },
    // only the namespaces that processes hold (ours among them): this machine may have hundreds of
    // named ones from other tests, which would only slow the agent down here
    netnsDirs: [noNamedNetns]
  })
  await agent.start()
  t.after(async () => { await agent.close() })
  const curl = run('ip', ['netns', 'exec', pair.nsA, 'curl', '-s', '-o', '/dev/null', '--limit-rate', '20K', url])
  const wget = run('ip', ['netns', 'exec', pair.nsA, 'wget', '-q', '-O', '/dev/null', '--limit-rate=20k', url])
  procs.push(curl, wget)

  // the host node carries both ends of both downloads and the listening socket
  const auth = { authorization: `Basic ${Buffer.from('admin:secret').toString('base64')}` }
  let seen: Socket[] = []
  await waitFor(async () => {
    const res = await api.app.inject({ method: 'POST', url: '/api/topology', headers: auth, payload: { GremlinQuery: `G.V().Has('Type', 'host', 'Name', '${hostId}')` } })
    const sockets = (res.json() as Array<{ Metadata: { Sockets?: Socket[] } }>)[0]?.Metadata.Sockets ?? []
    seen = sockets.filter((s) => s.LocalPort === port || s.RemotePort === port)
    return seen.some((s) => s.State === 'LISTEN') &&
      seen.filter((s) => s.State === 'ESTABLISHED' && s.RemotePort === port).length >= 2 &&
      seen.filter((s) => s.State === 'ESTABLISHED' && s.LocalPort === port).length >= 2
  }, { timeout: 60_000, interval: 250, what: 'the socket tables of the server and its clients in the API' }).catch((err: unknown) => {
    const status = procs.map((p) => `${p.child.spawnargs.slice(4, 5).join(' ')}: exit ${String(p.child.exitCode)} ${p.stderr.slice(-300)}`)
    throw new Error(`${(err as Error).message}\nsockets on port ${port}: ${JSON.stringify(seen)}\n${status.join('\n')}\nagent: ${JSON.stringify(agent.stats())}`)
  })

  const py = processOf(server)
  const expected = [curl, wget].map((client) => {
    const c = processOf(client)
    return `TCP,${hostId},${pair.ipB},${port},${py.exe},${py.comm},${hostId},${pair.ipA},${c.exe},${c.comm}`
  }).sort()
  assert.deepEqual(expected.map((r) => r.split(',')[9]), ['curl', 'wget'])

  const argv = ['--analyzer', `127.0.0.1:${api.port}`, '--username', 'admin', '--password', 'secret']
  const csv = collect()
  const err = collect()
  assert.equal(await runFlowMatrixCommand([...argv, '--format', 'csv'], csv, err), 0, err.out)
  const lines = csv.out.trim().split('\n')
  assert.equal(lines[0], 'protocol,server,server_ip,port,server_proc,server_procname,client,client_ip,client_proc,client_procname')
  // other processes of this machine may talk too; ours are the rows with the test's addresses
  const ours = lines.slice(1).filter((l) => l.includes(`,${pair.ipB},${port},`))
  assert.deepEqual(ours, expected)
  t.diagnostic(ours.join('\n'))

  const svg = collect()
  assert.equal(await runFlowMatrixCommand([...argv, '--format', 'svg'], svg, err), 0, err.out)
  const doc = parseXml(svg.out)
  assert.equal(doc.root, '{http://www.w3.org/2000/svg}svg')
  for (const word of [hostId, py.comm, 'curl', 'wget']) assert.ok(doc.texts.includes(word), `the SVG shows ${word}: ${doc.texts.join(' | ')}`)
  // one arrow per client, labelled as skydive-flow-matrix labels its edges
  assert.equal(doc.texts.filter((x) => x === `TCP : ${pair.ipB}:${port}`).length, 2, doc.texts.join(' | '))
})
