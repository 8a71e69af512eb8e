import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { loadConfig } from '@topoflow/core'
import { tlsOptions } from '../../src/app.ts'
import { basicToken } from '../../src/auth.ts'
import { edge, makeApi, node, publishGraph } from '../helpers.ts'

// "secret" as `htpasswd -B -C 5` writes it, and as `htpasswd -s` writes it
const bcryptSecret = '$2y$05$YApD6/w3HtsGC2Jcev7utehf/D1hTx.2A6pZVqA3AS6MSM/A4Snli'
const shaSecret = '{SHA}5en6G6MezRroT3XKqkdPOmY/BfQ='

/** Runs an injected request and says how long it took. */
async function timed<T> (fn: () => Promise<T>): Promise<{ res: T, ms: number }> {
  const t0 = performance.now()
  const res = await fn()
  return { res, ms: performance.now() - t0 }
}

test('htpasswd users (bcrypt and {SHA}) log in; their token opens the API as cookie, Basic header or X-Auth-Token', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'topoflow-htpasswd-'))
  const file = join(dir, 'htpasswd')
  writeFileSync(file, `dave:${bcryptSecret}\nerin:${shaSecret}\n`)
  const api = await makeApi(t, { overrides: { 'analyzer.auth.api.backend': 'files', auth: { files: { type: 'basic', file } } } })
  for (const user of ['dave', 'erin']) {
    const login = await api.app.inject({ method: 'POST', url: '/login', headers: { 'content-type': 'application/x-www-form-urlencoded' }, payload: `username=${user}&password=secret` })
    assert.equal(login.statusCode, 200, user)
    const token = login.json().Token as string
    assert.equal(token, basicToken(user, 'secret'))
    for (const headers of [{ 'x-auth-token': token }, { authorization: `Basic ${token}` }, { cookie: `authtoken=${token}` }]) {
      const res = await api.app.inject({ method: 'POST', url: '/api/topology', headers, payload: { GremlinQuery: 'G.V().Count()' } })
      assert.equal(res.statusCode, 200, `${user} ${Object.keys(headers)[0] ?? ''}`)
      assert.equal(res.body, '0')
    }
    const wrong = await api.app.inject({ method: 'GET', url: '/api', headers: { 'x-auth-token': basicToken(user, 'Secret') } })
    assert.equal(wrong.statusCode, 401)
    assert.equal(wrong.body, 'Wrong credentials')
  }
  const bad = await api.app.inject({ method: 'POST', url: '/login', payload: { username: 'dave', password: 'nope' } })
  assert.equal(bad.statusCode, 401)
})

test('an unreadable or malformed htpasswd file stops start-up with the file and line', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'topoflow-htpasswd-'))
  const file = join(dir, 'htpasswd')
  writeFileSync(file, 'dave:$2y$05$short\n')
  await assert.rejects(makeApi(t, { overrides: { 'analyzer.auth.api.backend': 'f', auth: { f: { type: 'basic', file } } } }), new RegExp(`${file}:1: malformed bcrypt hash`))
  await assert.rejects(makeApi(t, { overrides: { 'analyzer.auth.api.backend': 'f', auth: { f: { type: 'basic', file: join(dir, 'missing') } } } }), /auth\.f\.file: cannot read .*missing/)
})

test('analyzer.tls needs both PEM files and says which is missing or unreadable', () => {
  assert.equal(tlsOptions(loadConfig()), undefined)
  assert.throws(() => tlsOptions(loadConfig({ overrides: { 'analyzer.tls.cert_file': '/x.pem' } })), /analyzer\.tls needs both cert_file and key_file, got only cert_file/)
  assert.throws(() => tlsOptions(loadConfig({ overrides: { 'analyzer.tls.key_file': '/x.pem' } })), /got only key_file/)
  assert.throws(() => tlsOptions(loadConfig({ overrides: { 'analyzer.tls.cert_file': '/nonexistent/c.pem', 'analyzer.tls.key_file': '/nonexistent/k.pem' } })), /analyzer\.tls\.cert_file: cannot read \/nonexistent\/c\.pem/)
})

test('a huge query, an oversized body and a too-deep query get a fast 4xx in plain text', async (t) => {
  const api = await makeApi(t)
  const huge = await timed(async () => await api.app.inject({ method: 'POST', url: '/api/topology', payload: { GremlinQuery: 'G.V()' + '.Has("Name", "x")'.repeat(5000) } }))
  assert.equal(huge.res.statusCode, 400)
  assert.match(String(huge.res.headers['content-type']), /^text\/plain/)
  assert.match(huge.res.body, /GremlinQuery must NOT have more than 65536 characters/)
  assert.ok(huge.ms < 500, `answered in ${huge.ms.toFixed(0)} ms`)

  // 2 MiB against the default 1 MiB body limit
  const body = JSON.stringify({ GremlinQuery: 'G.V()', Padding: 'x'.repeat(2 * 1024 * 1024) })
  const big = await timed(async () => await api.app.inject({ method: 'POST', url: '/api/topology', headers: { 'content-type': 'application/json' }, payload: body }))
  assert.equal(big.res.statusCode, 413)
  assert.equal(big.res.body, 'request body is larger than the limit of 1048576 bytes')
  assert.ok(big.ms < 500, `answered in ${big.ms.toFixed(0)} ms`)
  const bigNode = await api.app.inject({ method: 'POST', url: '/api/node', headers: { 'content-type': 'application/json' }, payload: body })
  assert.equal(bigNode.statusCode, 413)

  // 65 chained steps against the limit of 64: refused before it runs, at the first step too many
  const deep = 'G.V()' + '.Out()'.repeat(64)
  const tooDeep = await api.app.inject({ method: 'POST', url: '/api/topology', payload: { GremlinQuery: deep } })
  assert.equal(tooDeep.statusCode, 400)
  assert.equal(tooDeep.body, `Gremlin syntax error at column ${'G.V()'.length + 64 * 6 - 4}: the query chains 65 steps, more than the limit of 64`)
  const deepest = await api.app.inject({ method: 'POST', url: '/api/topology', payload: { GremlinQuery: 'G.V()' + '.Out()'.repeat(63) } })
  assert.equal(deepest.statusCode, 200)
  assert.equal(deepest.body, '[]')
})

test('a query that runs past the time limit is stopped with a 400 and the API keeps answering', async (t) => {
  const api = await makeApi(t, { build: { limits: { queryTimeoutMs: 100, alertDebounceMs: 20 } } })
  // 60 nodes, each joined to the next 20: every Both() multiplies the walk by 40
  const nodes = Array.from({ length: 60 }, (_, i) => node(`n${i}`, { Name: `n${i}`, Type: 'device' }))
  const edges = nodes.flatMap((_, i) => Array.from({ length: 20 }, (_, k) => edge(`e${i}-${k}`, `n${i}`, `n${(i + k + 1) % 60}`, 'layer2')))
  await publishGraph(api, nodes, edges)
  const slow = await timed(async () => await api.app.inject({ method: 'POST', url: '/api/topology', payload: { GremlinQuery: 'G.V().Both().Both().Both().Both().Both().Count()' } }))
  assert.equal(slow.res.statusCode, 400)
  assert.match(slow.res.body, /^Gremlin query exceeded its time limit of 100 ms; narrow the query/)
  assert.ok(slow.ms < 1500, `stopped after ${slow.ms.toFixed(0)} ms`)
  const next = await timed(async () => await api.app.inject({ method: 'POST', url: '/api/topology', payload: { GremlinQuery: 'G.V().Both().Both().Dedup().Count()' } }))
  assert.equal(next.res.statusCode, 200)
  assert.equal(next.res.body, '60')
  const metrics = await api.app.inject({ method: 'GET', url: '/metrics' })
  assert.match(metrics.body, /topoflow_api_gremlin_queries_total\{outcome="timeout",service="api-test"\} 1/)
})

test('a result larger than the cap is refused with a 400 that says how to narrow it', async (t) => {
  const api = await makeApi(t, { build: { limits: { maxResultItems: 10, alertDebounceMs: 20 } } })
  await publishGraph(api, Array.from({ length: 11 }, (_, i) => node(`c${i}`, { Name: `c${i}`, Type: 'device' })))
  const over = await api.app.inject({ method: 'POST', url: '/api/topology', payload: { GremlinQuery: 'G.V()' } })
  assert.equal(over.statusCode, 400)
  assert.equal(over.body, 'The result has 11 items, more than the limit of 10; narrow the query (Has, Limit)')
  const limited = await api.app.inject({ method: 'POST', url: '/api/topology', payload: { GremlinQuery: 'G.V().Limit(10)' } })
  assert.equal(limited.statusCode, 200)
  assert.equal(limited.json().length, 10)
  assert.equal((await api.app.inject({ method: 'POST', url: '/api/topology', payload: { GremlinQuery: 'G.V().Count()' } })).body, '11')
})
