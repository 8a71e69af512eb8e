import { test } from 'node:test'
import assert from 'node:assert/strict'
import { fixtureGraph, makeApi, publishGraph } from '../helpers.ts'

test('/api/status has Skydive\'s analyzer status shape', async (t) => {
  const api = await makeApi(t, { overrides: { 'analyzer.topology.probes': ['fabric'] } })
  const g = fixtureGraph()
  await publishGraph(api, g.nodes, g.edges)
  const status = (await api.app.inject({ method: 'GET', url: '/api/status' })).json()
  assert.deepEqual(Object.keys(status), ['Agents', 'Peers', 'Publishers', 'Subscribers', 'Alerts', 'Captures', 'Probes'])
  assert.deepEqual(Object.keys(status.Agents).sort(), ['node-a', 'node-b'])
  assert.equal(status.Agents['node-a'].ServiceType, 'agent')
  assert.equal(status.Agents['node-a'].IsConnected, true)
  assert.deepEqual(status.Peers, { Incomers: {}, Outgoers: {} })
  assert.deepEqual(status.Alerts, { IsMaster: true })
  assert.deepEqual(status.Probes, { fabric: { Status: 'running' } })
})

test('/api/config/{key} serves config values by dotted key, never credentials', async (t) => {
  const api = await makeApi(t, { auth: true })
  const h = { authorization: 'Basic ' + Buffer.from('admin:secret').toString('base64') }
  const get = async (key: string) => await api.app.inject({ method: 'GET', url: `/api/config/${key}`, headers: h })
  assert.equal((await get('analyzer.listen')).json(), '0.0.0.0:8082')
  assert.deepEqual((await get('flow')).json().expire, 600)
  assert.equal((await get('flow.update')).body, '60')
  assert.equal((await get('no.such.key')).body, 'null')
  const secret = await get('auth.mybasic.users')
  assert.equal(secret.statusCode, 403)
  assert.match(secret.body, /not readable/)
  assert.equal((await get('auth')).statusCode, 403)
})

test('operations routes: /healthz, /readyz, /metrics', async (t) => {
  const api = await makeApi(t)
  assert.deepEqual((await api.app.inject({ method: 'GET', url: '/healthz' })).json(), { status: 'ok' })
  assert.deepEqual((await api.app.inject({ method: 'GET', url: '/readyz' })).json(), { status: 'ok' })
  await api.app.inject({ method: 'POST', url: '/api/topology', payload: { GremlinQuery: 'G.V()' } })
  await api.app.inject({ method: 'POST', url: '/api/topology', payload: { GremlinQuery: 'G.V(' } })
  const metrics = await api.app.inject({ method: 'GET', url: '/metrics' })
  assert.match(String(metrics.headers['content-type']), /^text\/plain/)
  assert.match(metrics.body, /topoflow_api_gremlin_queries_total\{outcome="ok",service="api-test"\} 1/)
  assert.match(metrics.body, /topoflow_api_gremlin_queries_total\{outcome="error",service="api-test"\} 1/)
  assert.match(metrics.body, /topoflow_api_requests_total\{method="POST",route="\/api\/topology",status="400",service="api-test"\} 1/)
  assert.match(metrics.body, /topoflow_api_graph_elements\{kind="node",service="api-test"\} 0/)
})

test('/api/openapi.json documents every route from its schema', async (t) => {
  const api = await makeApi(t)
  const doc = (await api.app.inject({ method: 'GET', url: '/api/openapi.json' })).json()
  assert.equal(doc.openapi, '3.0.3')
  for (const path of ['/api', '/api/topology', '/api/capture', '/api/capture/{id}', '/api/alert/{id}', '/api/noderule', '/api/edgerule/{id}', '/api/node/{id}', '/api/edge', '/api/status', '/api/config/{key}', '/login', '/api/flowmatrix', '/healthz', '/metrics', '/ws/subscriber']) {
    assert.ok(doc.paths[path] !== undefined, path)
  }
  assert.deepEqual(Object.keys(doc.paths['/api/capture']).sort(), ['get', 'post'])
  assert.ok(doc.paths['/api/capture'].post.responses['409'])
  assert.deepEqual(doc.paths['/api/capture/{id}'].get.parameters[0], { name: 'id', in: 'path', required: true, schema: { type: 'string', minLength: 1, maxLength: 256 } })
  assert.ok(doc.paths['/api/flowmatrix'].get.parameters.some((p: { name: string }) => p.name === 'useFlows'))
  assert.equal(doc.paths['/api/topology'].post.requestBody.content['application/json'].schema.properties.GremlinQuery.type, 'string')
})

test('bad requests get the right 4xx quickly: unknown route, bad JSON, oversized body', async (t) => {
  const api = await makeApi(t, { build: { limits: { bodyLimit: 1024, alertDebounceMs: 20 } } })
  const unknown = await api.app.inject({ method: 'GET', url: '/api/nothing' })
  assert.equal(unknown.statusCode, 404)
  assert.match(unknown.body, /404 page not found/)
  assert.equal((await api.app.inject({ method: 'GET', url: '/nothing' })).json().code, 'TOPOFLOW_ERR_NOT_FOUND')
  const badJson = await api.app.inject({ method: 'POST', url: '/api/topology', headers: { 'content-type': 'application/json' }, payload: '{"GremlinQuery":' })
  assert.equal(badJson.statusCode, 400)
  assert.match(String(badJson.headers['content-type']), /^text\/plain/)
  const big = await api.app.inject({ method: 'POST', url: '/api/topology', payload: { GremlinQuery: 'G.V()' + ' '.repeat(2000) } })
  assert.equal(big.statusCode, 413)
  assert.match(big.body, /larger than the limit of 1024 bytes/)
  const matrix = await api.app.inject({ method: 'GET', url: '/api/flowmatrix?format=pdf' })
  assert.equal(matrix.statusCode, 400)
  assert.equal(matrix.json().code, 'TOPOFLOW_ERR_INVALID_REQUEST')
})

test('GET /api/flowmatrix builds skydive-flow-matrix\'s CSV, DOT, JSON and SVG from the hosts\' sockets', async (t) => {
  const api = await makeApi(t)
  const g = fixtureGraph()
  await publishGraph(api, g.nodes, g.edges)
  const csv = await api.app.inject({ method: 'GET', url: '/api/flowmatrix' })
  assert.equal(csv.statusCode, 200)
  assert.match(String(csv.headers['content-type']), /^text\/csv/)
  assert.deepEqual(csv.body.trim().split('\n'), [
    'protocol,server,server_ip,port,server_proc,server_procname,client,client_ip,client_proc,client_procname',
    'TCP,node-a,127.0.0.1,6379,/usr/bin/redis-server,redis-server,node-a,127.0.0.1,/usr/bin/redis-cli,redis-cli',
    'TCP,node-b,10.0.0.2,22,/usr/sbin/sshd,sshd,node-a,10.0.0.1,/usr/bin/ssh,ssh',
    'TCP,node-b,10.0.0.2,80,/usr/sbin/nginx,nginx,node-a,10.0.0.1,/usr/bin/curl,curl',
    'UDP,node-b,10.0.0.2,53,/usr/sbin/unbound,unbound,node-a,10.0.0.1,/usr/bin/dig,dig'
  ])
  const json = (await api.app.inject({ method: 'GET', url: '/api/flowmatrix?format=json' })).json()
  assert.equal(json.length, 4)
  assert.deepEqual(json[1], { protocol: 'TCP', server: 'node-b', serverIp: '10.0.0.2', port: 22, serverProc: '/usr/sbin/sshd', serverProcName: 'sshd', client: 'node-a', clientIp: '10.0.0.1', clientProc: '/usr/bin/ssh', clientProcName: 'ssh' })
  assert.match((await api.app.inject({ method: 'GET', url: '/api/flowmatrix?format=dot' })).body, /"node-acurl" -> "node-bnginx"/)
  const svg = await api.app.inject({ method: 'GET', url: '/api/flowmatrix?format=svg' })
  assert.equal(svg.headers['content-type'], 'image/svg+xml')
  assert.match(svg.body, /<svg xmlns/)
  // a time context goes into the queries; the in-memory history answers it
  const past = await api.app.inject({ method: 'GET', url: '/api/flowmatrix?at=-1s&duration=3600' })
  assert.equal(past.statusCode, 200)
  assert.equal(past.body.trim().split('\n').length, 5)
  // flows: none recorded, so the same rows
  const withFlows = await api.app.inject({ method: 'GET', url: '/api/flowmatrix?useFlows=true' })
  assert.equal(withFlows.statusCode, 200)
  assert.equal(withFlows.body, csv.body)
})
