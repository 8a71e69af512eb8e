import { test } from 'node:test'
import assert from 'node:assert/strict'
import { makeApi, node, publishGraph, waitFor } from '../helpers.ts'

interface Posted { url: string, body: { UUID: string, Timestamp: string, ReasonData: unknown } }

test('graph alerts fire their webhook when the result becomes non-empty or changes, once per result', async (t) => {
  const posted: Posted[] = []
  const api = await makeApi(t, { build: { alertPost: async (url, body) => { posted.push({ url, body: JSON.parse(body) }) } } })
  const res = await api.app.inject({ method: 'POST', url: '/api/alert', payload: { Action: 'http://hooks.example/alert', Expression: "G.V().Has('Type', 'switch')", Trigger: 'graph' } })
  const uuid: string = res.json().UUID

  await publishGraph(api, [node('d1', { Name: 'eth0', Type: 'device' })])
  await publishGraph(api, [node('s1', { Name: 'tor1', Type: 'switch' })])
  const first = await waitFor(() => posted[0], { what: 'first webhook' })
  assert.equal(first.url, 'http://hooks.example/alert')
  assert.equal(first.body.UUID, uuid)
  assert.ok(!Number.isNaN(Date.parse(first.body.Timestamp)))
  assert.deepEqual((first.body.ReasonData as Array<{ ID: string }>).map((n) => n.ID), ['s1'])

  // an unrelated change leaves the result as it was: no second call
  await publishGraph(api, [node('d2', { Name: 'eth1', Type: 'device' })])
  await publishGraph(api, [node('s2', { Name: 'tor2', Type: 'switch' })])
  const second = await waitFor(() => posted[1], { what: 'second webhook' })
  assert.deepEqual((second.body.ReasonData as Array<{ ID: string }>).map((n) => n.ID).sort(), ['s1', 's2'])
  assert.equal(posted.length, 2)

  // deleting the alert stops it
  await api.app.inject({ method: 'DELETE', url: `/api/alert/${uuid}` })
  await publishGraph(api, [node('s3', { Name: 'tor3', Type: 'switch' })])
  await publishGraph(api, [node('d3', { Name: 'eth3', Type: 'device' })])
  assert.equal(posted.length, 2)
})

test('periodic alerts with an expression fire when it becomes true', async (t) => {
  const posted: Posted[] = []
  const api = await makeApi(t, { build: { alertPost: async (url, body) => { posted.push({ url, body: JSON.parse(body) }) } } })
  await api.app.inject({ method: 'POST', url: '/api/alert', payload: { Action: 'https://hooks.example/many', Expression: 'Gremlin("G.V().Count()") >= 2', Trigger: 'duration:100ms' } })
  await publishGraph(api, [node('a', { Name: 'a', Type: 'device' })])
  await publishGraph(api, [node('b', { Name: 'b', Type: 'device' })])
  const fired = await waitFor(() => posted[0], { what: 'periodic webhook' })
  assert.equal(fired.body.ReasonData, true)
  const metrics = await api.app.inject({ method: 'GET', url: '/metrics' })
  assert.match(metrics.body, /topoflow_api_alerts_fired_total\{service="api-test"\} 1/)
})
