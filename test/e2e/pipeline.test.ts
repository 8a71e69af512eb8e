import { test } from 'node:test'
import assert from 'node:assert/strict'
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { resolveInfraOrSkip, run, VethPair, waitFor } from '@topoflow/testing'

const root = fileURLToPath(new URL('../..', import.meta.url))
const base = 19000 + (process.pid % 500) * 2

interface FlowDoc {
  source: { ip: string, port: number, process?: { pid: number, name: string } }
  destination: { ip: string, port: number, process?: { pid: number, name: string } }
  flow: { server_end?: string, id: string }
  skydive: { Metric: { ABPackets: number, BAPackets: number, BABytes: number } }
}

/**
 * The distributed pipeline on real Kafka and OpenSearch: capture → Kafka → enricher → OpenSearch, with
 * the graph-builder and the API. curl in one namespace fetches from `python3 -m http.server` in another;
 * the flow document in OpenSearch names both processes and their pids, and says which end serves.
 */
test('an HTTP flow between two namespaces lands in OpenSearch with client and server processes', { timeout: 240_000 }, async (t) => {
  if (process.getuid?.() !== 0) { t.skip('needs root to create network namespaces'); return }
  const infra = await resolveInfraOrSkip(t)
  if (infra === null) return
  const pair = new VethPair('pl')
  pair.create()
  t.after(() => pair.destroy())

  // A 6 MB file read slowly enough (curl --limit-rate, ~6 s) that the 1 s socket tables see the connection.
  const www = mkdtempSync(join(tmpdir(), 'tf-www-'))
  writeFileSync(join(www, 'big.bin'), Buffer.alloc(6 * 1024 * 1024, 7))
  const server = run('ip', ['netns', 'exec', pair.nsB, 'python3', '-m', 'http.server', '--bind', pair.ipB, '--directory', www, '8000'])
  t.after(() => server.child.kill('SIGKILL'))

  const hostId = `e2e-${process.pid}`
  const api = `127.0.0.1:${base}`
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    KAFKA_BROKERS: infra.kafkaBrokers.join(','),
    OPENSEARCH_URL: infra.opensearchUrl,
    TOPOFLOW_HOST_ID: hostId,
    TOPOFLOW_LOGGING_LEVEL: 'warn',
    TOPOFLOW_FLOW_UPDATE: '1',
    TOPOFLOW_AGENT_TOPOLOGY_SOCKETINFO_HOST_UPDATE: '1',
    TOPOFLOW_OPENSEARCH_REPLICAS: '0',
    TOPOFLOW_OPENSEARCH_BULK_FLUSH_MS: '200',
    TOPOFLOW_ANALYZER_LISTEN: api,
    TOPOFLOW_AGENT_LISTEN: `127.0.0.1:${base + 1}`,
    TOPOFLOW_GRAPH_BUILDER_LISTEN: '127.0.0.1:0',
    TOPOFLOW_ENRICHER_LISTEN: '127.0.0.1:0'
  }
  const services: Array<{ name: string, child: ChildProcess, log: () => string }> = []
  for (const name of ['graph-builder', 'enricher', 'api', 'capture']) {
    const child = spawn(process.execPath, ['packages/cli/bin/topoflow.js', name], { cwd: root, env, stdio: ['ignore', 'ignore', 'pipe'] })
    let log = ''
    child.stderr?.on('data', (b: Buffer) => { log += b.toString() })
    services.push({ name, child, log: () => log })
  }
  t.after(async () => {
    for (const s of services) s.child.kill('SIGTERM')
    await Promise.all(services.map(async (s) => await new Promise((resolve) => { if (s.child.exitCode !== null) resolve(null); else s.child.once('exit', resolve) })))
  })
  const logs = (): string => services.map((s) => `--- ${s.name}\n${s.log().slice(-2000)}`).join('\n')

  const gremlin = async (query: string): Promise<unknown[]> => {
    const res = await fetch(`http://${api}/api/topology`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ GremlinQuery: query }) })
    return res.ok ? await res.json() as unknown[] : []
  }
  // The graph-builder materialized the agent's veth end, and the API follows it from the changes topic.
  await waitFor(async () => {
    try { return (await gremlin(`G.V().Has('@Host', '${hostId}', 'Name', '${pair.ifA}')`)).length === 1 } catch { return false }
  }, { timeout: 90_000, interval: 500 }).catch((err: unknown) => { throw new Error(`${(err as Error).message}\n${logs()}`) })

  const created = await fetch(`http://${api}/api/capture`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ GremlinQuery: `G.V().Has('@Host', '${hostId}', 'Name', '${pair.ifA}')`, BPFFilter: 'tcp port 8000' }) })
  assert.equal(created.status, 201)
  const capture = await created.json() as { UUID: string }
  await waitFor(async () => {
    const nodes = await gremlin(`G.V().Has('@Host', '${hostId}', 'Name', '${pair.ifA}')`) as Array<{ Metadata: { Captures?: Array<{ ID: string, State: string }> } }>
    return nodes[0]?.Metadata.Captures?.some((c) => c.ID === capture.UUID && c.State === 'active') === true
  }, { timeout: 60_000, interval: 500 }).catch((err: unknown) => { throw new Error(`${(err as Error).message}\n${logs()}`) })

  const search = async (): Promise<FlowDoc[]> => {
    const res = await fetch(`${infra.opensearchUrl}/topoflow-flows-*/_search`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ size: 50, query: { bool: { filter: [{ term: { 'flow.capture_id': capture.UUID } }, { term: { 'destination.port': 8000 } }] } } })
    })
    const body = await res.json() as { hits?: { hits: Array<{ _source: FlowDoc }> } }
    return (body.hits?.hits ?? []).map((h) => h._source)
  }
  // Known flake (see the closing note of the first session): now and then no socket table catches the
  // client's connection and its flow goes without a client process. Up to three downloads, each its own
  // flow; every miss is reported, and the flow that made it must be right in every field checked below.
  let doc: FlowDoc | undefined
  let clientPid: number | undefined
  const misses: string[] = []
  for (let attempt = 1; attempt <= 3 && doc?.source.process === undefined; attempt++) {
    const client = run('ip', ['netns', 'exec', pair.nsA, 'curl', '-s', '-o', '/dev/null', '--limit-rate', '1M', `http://${pair.ipB}:8000/big.bin`])
    clientPid = client.child.pid
    const done = await client.done
    assert.equal(done.code, 0, done.stderr)
    await waitFor(async () => {
      doc = (await search()).find((d) => d.source.process?.pid === clientPid && d.destination.process !== undefined)
      return doc !== undefined
    }, { timeout: 30_000, interval: 1000 }).catch(() => { misses.push(`attempt ${attempt}: no flow names curl (pid ${clientPid ?? '?'})`) })
  }
  if (misses.length > 0) t.diagnostic(misses.join('; '))
  // The process shows from the flow's first update on; the last update carries the whole response.
  const flowId = (doc as FlowDoc | undefined)?.flow.id
  await waitFor(async () => {
    const latest = (await search()).find((d) => d.flow.id === flowId)
    if (latest !== undefined) doc = latest
    return (latest?.skydive.Metric.BABytes ?? 0) > 6 * 1024 * 1024
  }, { timeout: 30_000, interval: 1000 }).catch(() => { /* asserted below */ })
  assert.ok(doc !== undefined, `no flow document names curl after 3 downloads: ${misses.join('; ')}\n${logs()}`)
  assert.equal(doc.source.ip, pair.ipA)
  assert.equal(doc.destination.ip, pair.ipB)
  assert.equal(doc.flow.server_end, 'B')
  assert.deepEqual(doc.source.process, { ...doc.source.process, name: 'curl', pid: clientPid })
  assert.deepEqual(doc.destination.process, { ...doc.destination.process, name: 'python3', pid: server.child.pid })
  // The API answers Skydive's flow queries from the same OpenSearch documents.
  const viaApi = await gremlin(`G.Flows().Has('CaptureID', '${capture.UUID}', 'Transport', 8000)`) as Array<{ UUID: string, AEnrich: { ProcessName: string }, BEnrich: { ProcessName: string } }>
  const same = viaApi.filter((f) => f.UUID === doc?.flow.id)
  assert.deepEqual(same.map((f) => [f.AEnrich.ProcessName, f.BEnrich.ProcessName]), [['curl', 'python3']])
  assert.ok(doc.skydive.Metric.BABytes > 6 * 1024 * 1024, `the 6 MB response is in the counts: ${doc.skydive.Metric.BABytes} bytes`)
})
