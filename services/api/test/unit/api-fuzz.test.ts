import { test } from 'node:test'
import assert from 'node:assert/strict'
import { seededRandom } from '@topoflow/testing/seeded-random'
import { makeApi, node, publishGraph } from '../helpers.ts'

// Every route the API documents (its OpenAPI document), called with random bodies, random path
// parameters and broken or mismatched content: the API answers each with a 2xx, 3xx or 4xx and
// goes on answering; a 5xx would mean an input reached code that did not expect it.

interface OpenApi { paths: Record<string, Record<string, unknown>> }

function randomValue (random: () => number, depth: number): unknown {
  const pick = (n: number): number => Math.floor(random() * n)
  const scalars: unknown[] = [null, true, false, 0, -1, 1e308, -0.5, 2 ** 53, '', 'x', "G.V().Has('Name', 'eth0')", 'G.V(', '\u0000', 'é😀', '-1m', 'L2', 'L4', 'afpacket', '[]', '{}', '1.2.3.4/33']
  if (depth <= 0 || pick(3) === 0) return scalars[pick(scalars.length)]
  if (pick(2) === 0) return Array.from({ length: pick(4) }, () => randomValue(random, depth - 1))
  const keys = ['GremlinQuery', 'Name', 'Type', 'BPFFilter', 'HeaderSize', 'SamplingRate', 'LayerKeyMode', 'Expression', 'Action', 'Query', 'Metadata', 'Parent', 'Child', 'ID', 'Host', 'op', 'path', 'value', 'UUID', 'Src', 'Dst', 'Count', '__proto__', 'constructor']
  const o: Record<string, unknown> = {}
  for (let i = pick(5); i > 0; i--) o[keys[pick(keys.length)] as string] = randomValue(random, depth - 1)
  return o
}

test('every documented route answers random and broken input without a 5xx, and the API keeps answering', async (t) => {
  const api = await makeApi(t)
  await publishGraph(api, [node('h1', { Type: 'host', Name: 'h1' }), node('h1-eth0', { Type: 'device', Name: 'eth0', IPV4: ['10.0.0.1/24'] })])
  const doc = (await api.app.inject({ method: 'GET', url: '/api/openapi.json' })).json() as OpenApi
  const routes = Object.entries(doc.paths).flatMap(([path, methods]) => Object.keys(methods).map((method) => ({ path, method: method.toUpperCase() })))
  assert.ok(routes.length >= 20, `${routes.length} documented routes`)
  // The WebSocket endpoints are exercised in websocket.test.ts; here they would only upgrade or refuse.
  const callable = routes.filter((r) => !r.path.startsWith('/ws/'))

  const random = seededRandom(0xa91)
  const pick = (n: number): number => Math.floor(random() * n)
  const ids = ['h1', 'h1-eth0', 'nope', '..%2F..', '%00', 'x'.repeat(300)]
  const statuses = new Map<number, number>()
  for (let i = 0; i < 3000; i++) {
    const route = callable[pick(callable.length)] as { path: string, method: string }
    const url = route.path.replace(/\{[^}]+\}|:[A-Za-z]+/g, () => ids[pick(ids.length)] as string) + (pick(4) === 0 ? '?x=%ZZ&limit=-1' : '')
    const kind = pick(4)
    const body = randomValue(random, 3)
    const payload = kind === 0 ? JSON.stringify(body) : kind === 1 ? JSON.stringify(body).slice(0, pick(20)) : kind === 2 ? 'username=a&password=' : JSON.stringify(body)
    const contentType = kind === 2 ? 'application/x-www-form-urlencoded' : pick(6) === 0 ? 'text/plain' : pick(6) === 0 ? 'application/json-patch+json' : 'application/json'
    const hasBody = !['GET', 'HEAD', 'DELETE'].includes(route.method)
    const res = await api.app.inject({ method: route.method as 'GET', url, ...(hasBody ? { payload, headers: { 'content-type': contentType } } : {}) })
    statuses.set(res.statusCode, (statuses.get(res.statusCode) ?? 0) + 1)
    assert.ok(res.statusCode < 500, `${route.method} ${url} ${contentType} ${payload.slice(0, 200)} → ${res.statusCode} ${res.body.slice(0, 300)}`)
  }
  t.diagnostic(`statuses: ${JSON.stringify(Object.fromEntries([...statuses].sort((a, b) => a[0] - b[0])))}`)
  assert.ok([...statuses.keys()].some((s) => s >= 400) && [...statuses.keys()].some((s) => s < 300))
  assert.equal((await api.app.inject({ method: 'GET', url: '/healthz' })).statusCode, 200)
  // The random calls may have deleted or edited the nodes: the answer's shape is what counts.
  const count = await api.app.inject({ method: 'POST', url: '/api/topology', payload: { GremlinQuery: 'G.V().Count()' } })
  assert.equal(count.statusCode, 200)
  assert.equal(typeof count.json(), 'number')
})
