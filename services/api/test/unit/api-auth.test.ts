import { test } from 'node:test'
import assert from 'node:assert/strict'
import { basicToken } from '../../src/auth.ts'
import { makeApi, users } from '../helpers.ts'

test('with the basic backend every /api and /ws route needs credentials', async (t) => {
  const api = await makeApi(t, { auth: true })
  for (const url of ['/api', '/api/topology', '/api/capture', '/api/node', '/api/status', '/api/config/analyzer.listen', '/api/flowmatrix', '/api/openapi.json', '/ws/subscriber']) {
    const res = await api.app.inject({ method: 'GET', url })
    assert.equal(res.statusCode, 401, url)
    assert.equal(res.body, 'No credentials provided', url)
  }
  const wrong = await api.app.inject({ method: 'GET', url: '/api', headers: { authorization: `Basic ${basicToken('admin', 'nope')}` } })
  assert.equal(wrong.statusCode, 401)
  assert.equal(wrong.body, 'Wrong credentials')
  // the operations routes stay open for probes and scrapers
  for (const url of ['/healthz', '/readyz', '/metrics']) assert.equal((await api.app.inject({ method: 'GET', url })).statusCode, 200, url)
})

test('POST /login (form, as skydive-client sends it) sets the authtoken cookie that opens the API', async (t) => {
  const api = await makeApi(t, { auth: true })
  const login = await api.app.inject({
    method: 'POST', url: '/login', headers: { 'content-type': 'application/x-www-form-urlencoded', origin: 'http://ui.example' }, payload: 'username=admin&password=secret'
  })
  assert.equal(login.statusCode, 200)
  const token = basicToken('admin', users.admin)
  assert.equal(login.json().Token, token)
  assert.ok(login.json().Permissions.some((p: { Object: string, Action: string, Allowed: boolean }) => p.Object === 'capture' && p.Action === 'write' && p.Allowed))
  assert.equal(login.headers['access-control-allow-origin'], 'http://ui.example')
  assert.equal(login.headers['access-control-allow-credentials'], 'true')
  const cookie = login.cookies.find((c) => c.name === 'authtoken')
  assert.equal(cookie?.value, token)
  assert.equal(cookie?.path, '/')
  assert.ok(login.cookies.some((c) => c.name === 'permissions'))

  const withCookie = await api.app.inject({ method: 'GET', url: '/api', cookies: { authtoken: token } })
  assert.equal(withCookie.statusCode, 200)
  assert.deepEqual(withCookie.json(), { Host: 'analyzer-1', Version: '0.1.0', Service: 'analyzer' })
  assert.equal((await api.app.inject({ method: 'GET', url: '/api', headers: { authorization: `Basic ${token}` } })).statusCode, 200)
  assert.equal((await api.app.inject({ method: 'GET', url: '/api', headers: { 'x-auth-token': token } })).statusCode, 200)
  assert.equal((await api.app.inject({ method: 'GET', url: `/api?x-auth-token=${encodeURIComponent(token)}` })).statusCode, 200)
  // a password with a colon survives the token round trip
  const ops = await api.app.inject({ method: 'POST', url: '/login', payload: { username: 'ops', password: users.ops } })
  assert.equal(ops.statusCode, 200)
  assert.equal((await api.app.inject({ method: 'GET', url: '/api/capture', cookies: { authtoken: ops.json().Token } })).statusCode, 200)
})

test('login failures are 401 with Skydive\'s messages; GET /login redirects', async (t) => {
  const api = await makeApi(t, { auth: true })
  const bad = await api.app.inject({ method: 'POST', url: '/login', headers: { 'content-type': 'application/x-www-form-urlencoded' }, payload: 'username=admin&password=x' })
  assert.equal(bad.statusCode, 401)
  assert.equal(bad.body, 'Wrong credentials')
  assert.equal(bad.cookies.length, 0)
  const missing = await api.app.inject({ method: 'POST', url: '/login', payload: { username: 'admin' } })
  assert.equal(missing.statusCode, 401)
  assert.equal(missing.body, 'No credentials provided')
  const get = await api.app.inject({ method: 'GET', url: '/login' })
  assert.equal(get.statusCode, 302)
  assert.equal(get.headers.location, '/')
})

test('with noauth, login succeeds with an empty token and no cookie', async (t) => {
  const api = await makeApi(t)
  const login = await api.app.inject({ method: 'POST', url: '/login', headers: { 'content-type': 'application/x-www-form-urlencoded' }, payload: 'username=a&password=b' })
  assert.equal(login.statusCode, 200)
  assert.equal(login.json().Token, '')
  assert.equal(login.cookies.length, 0)
  assert.equal((await api.app.inject({ method: 'GET', url: '/api/capture' })).statusCode, 200)
})
