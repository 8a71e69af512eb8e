import { test } from 'node:test'
import assert from 'node:assert/strict'
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { NamespaceBridge, resolveInfraOrSkip, run, sh, VethPair, waitFor, type Running } from '@topoflow/testing'

const root = fileURLToPath(new URL('../..', import.meta.url))
const base = 19000 + (process.pid % 500) * 2

interface FlowEnd { ip: string, port: number, host?: { name: string }, process?: { pid: number, name: string } }
interface FlowDoc {
  source: FlowEnd
  destination: FlowEnd
  flow: { server_end?: string, id: string }
  skydive: { Metric: { ABPackets: number, BAPackets: number, BABytes: number } }
}

interface Service { name: string, child: ChildProcess, log: () => string, stop: () => void }

function startService (name: string, command: string[], env: NodeJS.ProcessEnv): Service {
  const [cmd, ...args] = command as [string, ...string[]]
  const child = spawn(cmd, args, { cwd: root, env, stdio: ['ignore', 'ignore', 'pipe'] })
  let log = ''
  child.stderr?.on('data', (b: Buffer) => { log += b.toString() })
  return { name, child, log: () => log, stop: () => child.kill('SIGTERM') }
}

/** The first child of `pid` (unshare's forked child: the init of the pid namespace it made). */
async function childOf (pid: number): Promise<number> {
  let child = 0
  await waitFor(() => {
    try { child = Number(readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/)[0]) } catch { child = 0 }
    return child > 0
  }, { timeout: 10_000, interval: 20 })
  return child
}

/**
 * A capture agent on a "host" that is one network namespace: in a pid namespace with its own /proc,
 * it sees that namespace's processes and interfaces only, as an agent on its own machine would.
 * Kafka is bridged in at the address the broker advertises. unshare ignores SIGTERM while it waits,
 * so the agent (init of its pid namespace) is signalled itself; when it exits, all in there die.
 */
async function startHostAgent (netns: string, hostId: string, brokers: string[], env: NodeJS.ProcessEnv): Promise<{ agent: Service & { init: number }, bridge: NamespaceBridge }> {
  const bridge = await NamespaceBridge.open(netns, brokers.map((b) => Number(b.split(':').pop())))
  const agent = startService(`capture ${hostId}`, ['ip', 'netns', 'exec', netns, 'unshare', '--pid', '--fork', '--mount-proc', '--kill-child',
    process.execPath, 'packages/cli/bin/topoflow.js', 'capture'], { ...env, TOPOFLOW_HOST_ID: hostId, TOPOFLOW_NETNS_RUN_PATH: '', TOPOFLOW_AGENT_LISTEN: '127.0.0.1:0' })
  const init = await childOf(agent.child.pid ?? 0)
  return { agent: { ...agent, init, stop: () => { try { process.kill(init, 'SIGTERM') } catch { agent.child.kill('SIGKILL') } } }, bridge }
}

/** Runs a command inside the pid, mount and network namespaces of a host agent; its first stdout line is its pid there. */
function runOnHost (agent: { init: number }, command: string[]): { running: Running, pid: Promise<number> } {
  const running = run('nsenter', ['--target', String(agent.init), '--pid', '--mount', '--net', 'sh', '-c', 'echo $$; exec "$@"', 'sh', ...command])
  const pid = waitFor(() => running.stdout.includes('\n'), { timeout: 10_000, interval: 20 }).then(() => Number(running.stdout.split('\n')[0]))
  return { running, pid }
}

/**
 * The distributed pipeline on real Kafka and OpenSearch: capture → Kafka → enricher → OpenSearch, with
 * the graph-builder and the API. Each of two namespaces is a host with its own capture agent; curl on
 * one fetches from `python3 -m http.server` on the other. The flow document in OpenSearch names both
 * hosts, both processes with their pids as each host sees them, and says which end serves.
 */
test('an HTTP flow between two namespace-hosts lands in OpenSearch with client and server processes', { timeout: 240_000 }, async (t) => {
  if (process.getuid?.() !== 0) { t.skip('needs root to create network namespaces'); return }
  const infra = await resolveInfraOrSkip(t)
  if (infra === null) return
  const pair = new VethPair('pl')
  pair.create()
  t.after(() => pair.destroy())
  // The server's side sends at 8 Mbit/s: 4 MB take about 4 s (curl's own --limit-rate lets bursts
  // through: some runs took 0.2 s). Socket tables are polled every 5 s: the client's connections are
  // seen through the scan their SYN triggers.
  sh('ip', ['netns', 'exec', pair.nsB, 'tc', 'qdisc', 'add', 'dev', pair.ifB, 'root', 'tbf', 'rate', '8mbit', 'burst', '32kbit', 'latency', '400ms'])
  const www = mkdtempSync(join(tmpdir(), 'tf-www-'))
  const size = 4 * 1024 * 1024
  writeFileSync(join(www, 'big.bin'), Buffer.alloc(size, 7))

  const hostA = `e2e-a-${process.pid}`
  const hostB = `e2e-b-${process.pid}`
  const api = `127.0.0.1:${base}`
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    KAFKA_BROKERS: infra.kafkaBrokers.join(','),
    OPENSEARCH_URL: infra.opensearchUrl,
    TOPOFLOW_LOGGING_LEVEL: 'warn',
    TOPOFLOW_FLOW_UPDATE: '1',
    TOPOFLOW_AGENT_TOPOLOGY_SOCKETINFO_HOST_UPDATE: '5',
    TOPOFLOW_OPENSEARCH_REPLICAS: '0',
    TOPOFLOW_OPENSEARCH_BULK_FLUSH_MS: '200',
    TOPOFLOW_ANALYZER_LISTEN: api,
    TOPOFLOW_GRAPH_BUILDER_LISTEN: '127.0.0.1:0',
    TOPOFLOW_ENRICHER_LISTEN: '127.0.0.1:0'
  }
  const services: Service[] = []
  const bridges: NamespaceBridge[] = []
  t.after(async () => {
    for (const s of services) s.stop()
    await Promise.all(services.map(async (s) => await new Promise((resolve) => { if (s.child.exitCode !== null) resolve(null); else s.child.once('exit', resolve) })))
    for (const b of bridges) b.close()
  })
  for (const name of ['graph-builder', 'enricher', 'api']) services.push(startService(name, [process.execPath, 'packages/cli/bin/topoflow.js', name], env))
  const hosts: Array<Service & { init: number }> = []
  for (const [netns, hostId] of [[pair.nsA, hostA], [pair.nsB, hostB]] as const) {
    const { agent, bridge } = await startHostAgent(netns, hostId, infra.kafkaBrokers, env)
    services.push(agent)
    bridges.push(bridge)
    hosts.push(agent)
  }
  const [agentA, agentB] = hosts as [Service & { init: number }, Service & { init: number }]
  const logs = (): string => services.map((s) => `--- ${s.name}\n${s.log().slice(-2000)}`).join('\n')

  const gremlin = async (query: string): Promise<unknown[]> => {
    const res = await fetch(`http://${api}/api/topology`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ GremlinQuery: query }) })
    return res.ok ? await res.json() as unknown[] : []
  }
  // Each agent's veth end made it through the graph-builder to the API, under its own host.
  await waitFor(async () => {
    try {
      return (await gremlin(`G.V().Has('@Host', '${hostA}', 'Name', '${pair.ifA}')`)).length === 1 &&
        (await gremlin(`G.V().Has('@Host', '${hostB}', 'Name', '${pair.ifB}')`)).length === 1
    } catch { return false }
  }, { timeout: 90_000, interval: 500 }).catch((err: unknown) => { throw new Error(`${(err as Error).message}\n${logs()}`) })
  // Each host sees only itself: no interface of the other namespace under host A.
  assert.deepEqual(await gremlin(`G.V().Has('@Host', '${hostA}', 'Name', '${pair.ifB}')`), [])

  const server = runOnHost(agentB, ['python3', '-m', 'http.server', '--bind', pair.ipB, '--directory', www, '8000'])
  const serverPid = await server.pid
  await waitFor(() => run('ip', ['netns', 'exec', pair.nsA, 'curl', '-s', '-o', '/dev/null', `http://${pair.ipB}:8000/`]).done.then((r) => r.code === 0), { timeout: 20_000, interval: 200 })

  const created = await fetch(`http://${api}/api/capture`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ GremlinQuery: `G.V().Has('@Host', '${hostA}', 'Name', '${pair.ifA}')`, BPFFilter: 'tcp port 8000' }) })
  assert.equal(created.status, 201)
  const capture = await created.json() as { UUID: string }
  await waitFor(async () => {
    const nodes = await gremlin(`G.V().Has('@Host', '${hostA}', 'Name', '${pair.ifA}')`) as Array<{ Metadata: { Captures?: Array<{ ID: string, State: string }> } }>
    return nodes[0]?.Metadata.Captures?.some((c) => c.ID === capture.UUID && c.State === 'active') === true
  }, { timeout: 60_000, interval: 500 }).catch((err: unknown) => { throw new Error(`${(err as Error).message}\n${logs()}`) })

  const client = runOnHost(agentA, ['curl', '-s', '-o', '/dev/null', `http://${pair.ipB}:8000/big.bin`])
  const clientPid = await client.pid
  const done = await client.running.done
  assert.equal(done.code, 0, done.stderr)

  // The process shows from the flow's first update on; the last update carries the whole response.
  let doc: FlowDoc | undefined
  await waitFor(async () => {
    const res = await fetch(`${infra.opensearchUrl}/topoflow-flows-*/_search`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ size: 10, query: { bool: { filter: [{ term: { 'flow.capture_id': capture.UUID } }, { term: { 'destination.port': 8000 } }] } } })
    })
    const body = await res.json() as { hits?: { hits: Array<{ _source: FlowDoc }> } }
    doc = body.hits?.hits[0]?._source
    return doc?.source.process !== undefined && doc.destination.process !== undefined && doc.skydive.Metric.BABytes > size
  }, { timeout: 60_000, interval: 1000 }).catch(() => { /* asserted below with what was found */ })
  assert.ok(doc !== undefined, `no flow document in OpenSearch\n${logs()}`)
  assert.equal(doc.source.ip, pair.ipA)
  assert.equal(doc.destination.ip, pair.ipB)
  assert.equal(doc.flow.server_end, 'B')
  assert.equal(doc.source.host?.name, hostA)
  assert.equal(doc.destination.host?.name, hostB)
  // Pids as each host sees them: the agents live in pid namespaces of their own.
  assert.deepEqual(doc.source.process, { ...doc.source.process, name: 'curl', pid: clientPid })
  assert.deepEqual(doc.destination.process, { ...doc.destination.process, name: 'python3', pid: serverPid })
  assert.ok(doc.skydive.Metric.BABytes > size, `the 4 MB response is in the counts: ${doc.skydive.Metric.BABytes} bytes`)
  // The API answers Skydive's flow queries from the same OpenSearch documents.
  const viaApi = await gremlin(`G.Flows().Has('CaptureID', '${capture.UUID}', 'Transport', 8000)`) as Array<{ UUID: string, AEnrich: { ProcessName: string }, BEnrich: { ProcessName: string } }>
  assert.deepEqual(viaApi.map((f) => [f.UUID, f.AEnrich.ProcessName, f.BEnrich.ProcessName]), [[doc.flow.id, 'curl', 'python3']])

  // A connection of 0.3 s, far shorter than the socket poll: the capture's SYN has host A's sockets
  // scanned at once, and the enricher still knows the gone socket when the flow's updates come.
  const quick = runOnHost(agentA, ['python3', '-c', [
    'import socket, time',
    `s = socket.create_connection(('${pair.ipB}', 8000))`,
    'print(s.getsockname()[1], flush=True)',
    "s.sendall(b'HEAD / HTTP/1.0\\r\\n\\r\\n')",
    'time.sleep(0.3)',
    's.close()'
  ].join('\n')])
  const quickPid = await quick.pid
  assert.equal((await quick.running.done).code, 0)
  const quickPort = Number(quick.running.stdout.split('\n')[1])
  let quickDoc: FlowDoc | undefined
  await waitFor(async () => {
    const res = await fetch(`${infra.opensearchUrl}/topoflow-flows-*/_search`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ size: 10, query: { bool: { filter: [{ term: { 'flow.capture_id': capture.UUID } }, { term: { 'source.port': quickPort } }] } } })
    })
    const body = await res.json() as { hits?: { hits: Array<{ _source: FlowDoc }> } }
    quickDoc = body.hits?.hits.find((h) => h._source.source.process !== undefined)?._source ?? body.hits?.hits[0]?._source
    return quickDoc?.source.process !== undefined
  }, { timeout: 30_000, interval: 500 }).catch(() => { /* asserted below with what was found */ })
  assert.ok(quickDoc !== undefined, `no flow document for the short connection from port ${quickPort}\n${logs()}`)
  assert.deepEqual(quickDoc.source.process, { ...quickDoc.source.process, name: 'python3', pid: quickPid })
})
