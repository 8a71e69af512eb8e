// The web UI against the real API (buildApp over an in-process bus and in-memory graph), fed the
// same fixture through topoflow.topology.changes.v1: checks that what the UI sends is what the
// API understands (login, Gremlin, websocket, flows, captures, time travel).

import assert from 'node:assert/strict'
import type { AddressInfo } from 'node:net'
import { after, before, describe, it } from 'node:test'
import { createRegistry, InProcessBus, loadConfig, silentLogger } from '@topoflow/core'
import { MemoryFlowSource, MemoryGraph, type GraphEdge, type GraphNode } from '@topoflow/gremlin'
import { topics } from '@topoflow/schemas'
import type { Page } from 'playwright-core'
import { buildApp, type ApiApp } from '../../src/app.ts'
import type { TopologyChange } from '../../src/graph/live-graph.ts'
import { launchBrowser, screenshot, skipWithoutChromium, waitForCount, type Browser } from './browser.ts'
import { fixtureEdges, fixtureFlows, fixtureNodes, historyTime } from './fixture.ts'

/** Skydive marshals a zero time as null; the graph types want the field absent. */
function element<T extends { DeletedAt: null }> (el: T): Omit<T, 'DeletedAt'> {
  const { DeletedAt: _, ...rest } = el
  return rest
}

describe('web UI in chromium (real API)', { skip: skipWithoutChromium }, () => {
  let app: ApiApp
  let browser: Browser
  let page: Page
  let url: string
  const pageErrors: string[] = []

  before(async () => {
    const config = loadConfig({
      overrides: { host_id: 'analyzer-1', 'analyzer.auth.api.backend': 'ui', auth: { ui: { type: 'basic', users: { admin: 'secret' } } } }
    })
    const bus = new InProcessBus({ compactedTopics: [topics.topologyChanges, topics.resources, topics.captureStatus] })
    const graph = new MemoryGraph()
    const flows = new MemoryFlowSource()
    for (const f of fixtureFlows()) flows.upsert(f as never)
    app = await buildApp({ config, bus, graph, flows, logger: silentLogger(), registry: createRegistry('ui-test', { processMetrics: false }) })
    await app.listen({ port: 0, host: '127.0.0.1' })
    url = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`
    const changes: Array<{ key: string, value: TopologyChange }> = [
      ...fixtureNodes().map((n) => ({ key: n.ID, value: { ElementType: 'node' as const, Op: 'upsert' as const, Node: element(n) as GraphNode, Time: n.UpdatedAt } })),
      ...fixtureEdges().map((e) => ({ key: e.ID, value: { ElementType: 'edge' as const, Op: 'upsert' as const, Edge: element(e) as GraphEdge, Time: e.UpdatedAt } }))
    ]
    await bus.publish(topics.topologyChanges, changes)
    browser = await launchBrowser()
    page = browser.page
    page.on('pageerror', (err) => pageErrors.push(err.message))
  })

  after(async () => {
    await browser?.close()
    await app?.close()
  })

  it('logs in and draws the graph, live over the websocket', async () => {
    await page.goto(url)
    await page.locator('#login-dialog').waitFor({ state: 'visible' })
    await page.fill('#login-form input[name=username]', 'admin')
    await page.fill('#login-form input[name=password]', 'secret')
    await page.click('#login-submit')
    await waitForCount(page, '#graph .node', 13)
    await page.locator('body[data-ready=true]').waitFor()
    await page.locator('#status-live', { hasText: 'Live · websocket' }).waitFor()
    await page.locator('#status-api', { hasText: 'API ok' }).waitFor()
    assert.equal(await page.locator('#graph .edge-layer2').count(), 4)
  })

  it('shows a node\'s flows and highlights a Gremlin query', async () => {
    await page.locator('#graph .node[data-id=veth-ns1] .node-body').click()
    await page.locator('#details h2', { hasText: 'veth-ns1' }).waitFor()
    await waitForCount(page, '#flows-table tbody tr', 3)
    assert.equal(await page.locator('#flows-table tbody tr').first().getAttribute('data-uuid'), 'flow-http')
    await page.fill('#query-input', "G.V().Has('Type', 'veth')")
    await page.click('#query-run')
    await waitForCount(page, '#graph .node.highlighted', 4)
    await screenshot(page, 'real-app')
    await page.click('#query-clear')
  })

  it('creates a capture that the API stores', async () => {
    await page.click('#details button[data-action=capture]')
    await page.fill('#capture-form input[name=BPFFilter]', 'tcp port 80')
    await page.click('#capture-form button[type=submit]')
    await page.locator('#capture-form .form-message.ok', { hasText: 'created' }).waitFor()
    const res = await app.inject({ method: 'GET', url: '/api/capture', headers: { authorization: `Basic ${Buffer.from('admin:secret').toString('base64')}` } })
    const stored = Object.values(res.json<Record<string, { GremlinQuery: string, BPFFilter?: string, Name?: string }>>())
    assert.deepEqual(stored.map((c) => [c.GremlinQuery, c.BPFFilter, c.Name]), [["G.V().Has('TID', 'tid-veth-ns1')", 'tcp port 80', 'veth-ns1 capture']])
    await waitForCount(page, '#capture-list .capture-card', 1)
  })

  it('travels back in time through the API\'s history', async () => {
    await page.fill('#time-input', '2024-03-01T09:00:00')
    await page.click('#time-go')
    await waitForCount(page, '#graph .node', 9)
    await page.locator('#status-live', { hasText: `History · 2024-03-01 09:00:00` }).waitFor()
    assert.equal(new Date('2024-03-01T09:00:00Z').getTime(), historyTime)
    await page.click('#time-live')
    await waitForCount(page, '#graph .node', 13)
  })

  it('raised no uncaught error in the page', () => {
    assert.deepEqual(pageErrors, [])
  })
})
