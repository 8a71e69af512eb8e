import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { createRegistry, InProcessBus, loadConfig, silentLogger } from '@topoflow/core'
import { MemoryFlowSource, MemoryGraph } from '@topoflow/gremlin'
import { topics } from '@topoflow/schemas'
import { WebSocket } from 'ws'
import { basicToken } from '../../src/auth.ts'
import { runFlowMatrixCommand } from '../../src/flow-matrix/command.ts'
import { runQueryCommand } from '../../src/query-command.ts'
import { runApiService, type ApiService } from '../../src/service.ts'
import { compacted, fixtureGraph, waitFor } from '../helpers.ts'
import type { TopologyChange } from '../../src/graph/live-graph.ts'

const token = basicToken('admin', 'secret')

async function start (t: import('node:test').TestContext): Promise<{ svc: ApiService, bus: InProcessBus, graph: MemoryGraph }> {
  const config = loadConfig({ overrides: { host_id: 'analyzer-1', 'analyzer.auth.api.backend': 'b', auth: { b: { type: 'basic', users: { admin: 'secret' } } } } })
  const bus = new InProcessBus({ compactedTopics: compacted })
  const graph = new MemoryGraph()
  const svc = await runApiService({ config, bus, graph, flows: new MemoryFlowSource(), logger: silentLogger(), registry: createRegistry('api-it', { processMetrics: false }), listen: { host: '127.0.0.1', port: 0 }, limits: { alertDebounceMs: 20 } })
  t.after(async () => { await svc.close() })
  const g = fixtureGraph()
  await bus.publish<TopologyChange>(topics.topologyChanges, [
    ...g.nodes.map((n) => ({ key: n.ID, value: { ElementType: 'node' as const, Op: 'upsert' as const, Node: n, Time: 1 } })),
    ...g.edges.map((e) => ({ key: e.ID, value: { ElementType: 'edge' as const, Op: 'upsert' as const, Edge: e, Time: 1 } }))
  ])
  await waitFor(() => graph.edgeCount === 4, { what: 'fixture graph' })
  return { svc, bus, graph }
}

function collect (): { out: string, write: (s: string | Uint8Array) => boolean } {
  const c = { out: '', write: (s: string | Uint8Array) => { c.out += String(s); return true } }
  return c
}

async function open (url: string, headers: Record<string, string>): Promise<{ ws: WebSocket, inbox: any[] }> {
  const ws = new WebSocket(url, { headers })
  const inbox: any[] = []
  ws.on('message', (d) => inbox.push(JSON.parse(String(d))))
  await new Promise<void>((resolve, reject) => { ws.once('open', () => resolve()); ws.once('error', reject) })
  return { ws, inbox }
}

test('websockets over TCP: auth, sync, and a DeleteOnDisconnect publisher', async (t) => {
  const { svc, graph } = await start(t)
  const base = `ws://${svc.address}`
  await assert.rejects(open(`${base}/ws/subscriber`, { 'X-Client-Type': 'webui' }), /401/)

  const sub = await open(`${base}/ws/subscriber`, { 'X-Client-Type': 'webui', 'X-Host-ID': 'ui', Cookie: `authtoken=${token}` })
  t.after(() => sub.ws.terminate())
  sub.ws.send(JSON.stringify({ Namespace: 'Graph', Type: 'SyncRequest', UUID: 's1', Obj: { GremlinFilter: "G.V().Has('Type', 'host').SubGraph()" } }))
  const reply = await waitFor(() => sub.inbox.find((m) => m.UUID === 's1'), { what: 'SyncReply' })
  assert.deepEqual(reply.Obj.Nodes.map((n: { ID: string }) => n.ID).sort(), ['host-a', 'host-b'])

  const pub = await open(`${base}/ws/publisher`, { 'X-Client-Type': 'skydive-python-client', 'X-Host-ID': 'laptop', 'X-Persistence-Policy': 'DeleteOnDisconnect', Authorization: `Basic ${token}` })
  pub.ws.send(JSON.stringify({ Namespace: 'Graph', Type: 'NodeAdded', UUID: 'x', Status: 200, Obj: { ID: 'h-new', Host: 'node-c', Metadata: { Name: 'node-c', Type: 'host' } } }))
  const added = await waitFor(() => sub.inbox.find((m) => m.Type === 'NodeAdded'), { what: 'filtered NodeAdded' })
  assert.equal(added.Obj.ID, 'h-new')
  assert.equal(added.Obj.Origin, 'skydive-python-client.laptop')
  pub.ws.close()
  await waitFor(() => graph.getNode('h-new') === undefined, { what: 'cleanup after disconnect' })
  const removed = await waitFor(() => sub.inbox.find((m) => m.Type === 'NodeDeleted'), { what: 'filtered NodeDeleted' })
  assert.equal(removed.Obj.ID, 'h-new')
})

test('an alert posts Skydive\'s message to a webhook on a local HTTP server', async (t) => {
  const received: Array<{ path: string, type: string, body: any }> = []
  const hook = createServer((req, res) => {
    let body = ''
    req.on('data', (c) => { body += String(c) })
    req.on('end', () => { received.push({ path: req.url ?? '', type: req.headers['content-type'] ?? '', body: JSON.parse(body) }); res.end('ok') })
  })
  await new Promise<void>((resolve) => hook.listen(0, '127.0.0.1', resolve))
  t.after(() => hook.close())
  const { svc, bus } = await start(t)
  const url = `http://127.0.0.1:${(hook.address() as AddressInfo).port}/alerts`
  const created = await fetch(`http://${svc.address}/api/alert`, { method: 'POST', headers: { cookie: `authtoken=${token}`, 'content-type': 'application/json' }, body: JSON.stringify({ Action: url, Expression: "G.V().Has('Name', 'tap9')" }) })
  assert.equal(created.status, 201)
  const uuid = (await created.json() as { UUID: string }).UUID
  await bus.publish<TopologyChange>(topics.topologyChanges, [{ key: 'tap9', value: { ElementType: 'node', Op: 'upsert', Node: { ID: 'tap9', Metadata: { Name: 'tap9', Type: 'tun' }, Host: 'node-a', Origin: 'capture.node-a', CreatedAt: 5, UpdatedAt: 5, Revision: 1 }, Time: 5 } }])
  const call = await waitFor(() => received[0], { what: 'webhook call' })
  assert.equal(call.path, '/alerts')
  assert.equal(call.type, 'application/json')
  assert.equal(call.body.UUID, uuid)
  assert.deepEqual(call.body.ReasonData.map((n: { ID: string }) => n.ID), ['tap9'])
})

test('topoflow flow-matrix and topoflow query against a running API with basic auth', async (t) => {
  const { svc } = await start(t)
  const out = collect()
  const err = collect()
  const code = await runFlowMatrixCommand(['--analyzer', svc.address, '--username', 'admin', '--password', 'secret'], out, err)
  assert.equal(err.out, '')
  assert.equal(code, 0)
  assert.deepEqual(out.out.trim().split('\n'), [
    'protocol,server,server_ip,port,server_proc,server_procname,client,client_ip,client_proc,client_procname',
    'TCP,node-a,127.0.0.1,6379,/usr/bin/redis-server,redis-server,node-a,127.0.0.1,/usr/bin/redis-cli,redis-cli',
    'TCP,node-b,10.0.0.2,22,/usr/sbin/sshd,sshd,node-a,10.0.0.1,/usr/bin/ssh,ssh',
    'TCP,node-b,10.0.0.2,80,/usr/sbin/nginx,nginx,node-a,10.0.0.1,/usr/bin/curl,curl',
    'UDP,node-b,10.0.0.2,53,/usr/sbin/unbound,unbound,node-a,10.0.0.1,/usr/bin/dig,dig'
  ])

  const svg = collect()
  const svgErr = collect()
  const svgCode = await runFlowMatrixCommand(['--analyzer', svc.address, '--username', 'admin', '--password', 'secret', '--format', 'svg', '--use-flows', '--at=-1s', '--duration', '60'], svg, svgErr)
  assert.equal(svgErr.out, '')
  assert.equal(svgCode, 0)
  assert.match(svg.out, /^(<\?xml[^>]*>\s*)?(<!DOCTYPE[^>]*>\s*)?(<!--[\s\S]*?-->\s*)*<svg[\s>]/)
  assert.match(svg.out, /sshd/)

  const dot = collect()
  assert.equal(await runFlowMatrixCommand(['--analyzer', svc.address, '--username', 'admin', '--password', 'secret', '--format', 'dot'], dot, err), 0)
  assert.match(dot.out, /"node-assh" -> "node-bsshd"/)

  const denied = collect()
  assert.equal(await runFlowMatrixCommand(['--analyzer', svc.address, '--username', 'admin', '--password', 'bad'], collect(), denied), 1)
  assert.match(denied.out, /login as "admin" failed: 401 Wrong credentials/)
  const noAuth = collect()
  assert.equal(await runFlowMatrixCommand(['--analyzer', svc.address], collect(), noAuth), 1)
  assert.match(noAuth.out, /401 No credentials provided \(give --username and --password\)/)
  const usage = collect()
  assert.equal(await runFlowMatrixCommand(['--format', 'pdf', '--analyzer', 'x:1'], collect(), usage), 2)
  assert.match(usage.out, /--format must be csv, dot, svg or json/)
  const closed = createServer()
  await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve))
  const freePort = (closed.address() as AddressInfo).port
  await new Promise((resolve) => closed.close(resolve))
  const unreachable = collect()
  assert.equal(await runFlowMatrixCommand(['--analyzer', `127.0.0.1:${freePort}`], collect(), unreachable), 1)
  assert.match(unreachable.out, /cannot reach the API at http:\/\/127\.0\.0\.1:\d+: ECONNREFUSED/)

  const q = collect()
  assert.equal(await runQueryCommand(['--analyzer', svc.address, '--username', 'admin', '--password', 'secret', "G.V().Has('Type', 'host').Count()"], q, err), 0)
  assert.equal(q.out.trim(), '2')
  const qerr = collect()
  assert.equal(await runQueryCommand(['--analyzer', svc.address, '--username', 'admin', '--password', 'secret', 'G.V('], collect(), qerr), 1)
  assert.match(qerr.out, /400 Gremlin syntax error at column 5/)
})
