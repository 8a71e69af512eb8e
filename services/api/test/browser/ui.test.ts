// Drives the web UI in Debian's chromium (playwright-core) against a fixture API server, and
// saves screenshots to test-results/ui-*.png. Without chromium the suite is skipped locally and
// fails in CI (CI=true).

import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import type { BrowserContext, Page } from 'playwright-core'
import { launchBrowser, screenshot, skipWithoutChromium, waitForCount, webRoot, type Browser } from './browser.ts'
import { captureOnVeth, historyTime, largeTopology } from './fixture.ts'
import { credentials, startFixtureServer, type FixtureServer } from './fixture-server.ts'

const nodeSelector = '#graph .node'

describe('web UI in chromium (fixture API)', { skip: skipWithoutChromium }, () => {
  let server: FixtureServer
  let browser: Browser
  let context: BrowserContext
  let page: Page
  const pageErrors: string[] = []

  async function nodeCount (n: number, p: Page = page, timeout = 10_000): Promise<void> {
    await waitForCount(p, nodeSelector, n, timeout)
  }

  async function shot (name: string): Promise<void> {
    await screenshot(page, name)
  }

  function watch (p: Page): void {
    p.on('pageerror', (err) => pageErrors.push(err.message))
  }

  before(async () => {
    server = await startFixtureServer({ webRoot, auth: true })
    browser = await launchBrowser()
    context = browser.context
    page = browser.page
    watch(page)
  })

  after(async () => {
    await browser?.close()
    await server?.close()
  })

  it('asks for credentials when the API answers 401, then loads the graph', async () => {
    await page.goto(server.url)
    const dialog = page.locator('#login-dialog')
    await dialog.waitFor({ state: 'visible' })
    await page.fill('#login-form input[name=username]', credentials.username)
    await page.fill('#login-form input[name=password]', 'wrong')
    await page.click('#login-submit')
    await page.locator('#login-error', { hasText: 'Wrong credentials' }).waitFor()
    await page.fill('#login-form input[name=password]', credentials.password)
    await page.click('#login-submit')
    await dialog.waitFor({ state: 'hidden' })
    assert.deepEqual(server.recorded.logins.at(-1), credentials)
    await nodeCount(13)
  })

  it('draws every fixture node, owner boxes and both edge kinds, and reports status', async () => {
    await page.locator('body[data-ready=true]').waitFor()
    assert.equal(await page.locator(nodeSelector).count(), 13)
    assert.equal(await page.locator('#graph rect.box').count(), 3, 'host, ns1 and ns2 are boxes')
    assert.equal(await page.locator('#graph .edge-layer2').count(), 4)
    assert.equal(await page.locator('#graph .edge-ownership').count(), 12)
    assert.equal(await page.locator('#graph .node[data-type=veth]').count(), 4)
    assert.equal(await page.locator('#graph .node.down').count(), 1, 'docker0 is DOWN')
    assert.equal(await page.locator('#graph .node[data-id=veth-ns1] .capture-badge').count(), 1)
    await page.locator('#status-live', { hasText: 'Live · websocket' }).waitFor()
    await page.locator('#status-api', { hasText: 'API ok · 1 agent' }).waitFor()
    assert.ok(server.recorded.wsMessages.some((m) => (m as { Type?: string }).Type === 'SyncRequest'), 'the page asked for a sync')
    await shot('topology')
  })

  it('applies websocket Graph messages live', async () => {
    const tap = {
      ID: 'tap0', Host: 'compute-1', Origin: 'agent.compute-1', CreatedAt: Date.now(), UpdatedAt: Date.now(), Revision: 1,
      Metadata: { Name: 'tap0', Type: 'tun', State: 'UP', TID: 'tid-tap0' }
    }
    server.broadcast({ Namespace: 'Graph', Type: 'NodeAdded', Obj: tap })
    server.broadcast({ Namespace: 'Graph', Type: 'EdgeAdded', Obj: { ...tap, ID: 'e-host-tap0', Parent: 'host', Child: 'tap0', Metadata: { RelationType: 'ownership' } } })
    await nodeCount(14)
    assert.equal(await page.locator('#graph .node[data-id=tap0]').count(), 1)
    server.broadcast({ Namespace: 'Graph', Type: 'NodeDeleted', Obj: tap })
    await nodeCount(13)
    assert.equal(await page.locator('#graph .edge-ownership').count(), 12, 'the deleted node took its edge along')
  })

  it('shows a clicked node\'s metadata, sockets and captures', async () => {
    await page.locator('#graph .node[data-id=host] .node-body').click()
    await page.locator('#details h2', { hasText: 'compute-1' }).waitFor()
    assert.equal(await page.locator('#graph .node.selected').getAttribute('data-id'), 'host')
    assert.equal(await page.locator('#details table.sockets tbody tr').count(), 5)
    const firstSocket = await page.locator('#details table.sockets tbody tr').first().innerText()
    assert.match(firstSocket, /sshd/, 'LISTEN sockets come first, lowest port first')
    assert.match(firstSocket, /0\.0\.0\.0:22/)
    await shot('details-host')

    await page.locator('#graph .node[data-id=veth-ns1] .node-body').click()
    await page.locator('#details h2', { hasText: 'veth-ns1' }).waitFor()
    const facts = await page.locator('#details table.node-facts').innerText()
    assert.match(facts, /a6:3b:21:00:00:01/)
    assert.match(facts, /MTU\s+1500/)
    const captures = await page.locator('#details .captures-meta').innerText()
    assert.match(captures, new RegExp(captureOnVeth.ID.slice(0, 8)))
    assert.match(captures, /active/)
    assert.match(captures, /1,843/)
    const links = await page.locator('#details ul.links').innerText()
    assert.match(links, /br0/)
    assert.match(links, /owned by/)
    await shot('details')
  })

  it('folds an owner into one node on double click, and unfolds it', async () => {
    await page.locator('#graph .node[data-id=ns2] .node-body').dblclick()
    await nodeCount(11)
    assert.equal(await page.locator('#graph .node.collapsed[data-id=ns2] .fold-badge').textContent(), '+2')
    assert.equal(await page.locator('#graph rect.box').count(), 2)
    await page.locator('#graph .node[data-id=ns2] .node-body').dblclick()
    await nodeCount(13)
    await page.click('#fold-all')
    await nodeCount(1)
    await page.click('#unfold-all')
    await nodeCount(13)
    await page.locator('#graph .node[data-id=veth-ns1] .node-body').click()
    await page.locator('#details h2', { hasText: 'veth-ns1' }).waitFor()
  })

  it('lists the selected interface\'s flows with endpoints and processes, sortable', async () => {
    // selecting veth-ns1 above loaded its flows
    const rows = page.locator('#flows-table tbody tr')
    await waitForCount(page, '#flows-table tbody tr', 3)
    assert.ok(server.recorded.queries.includes("G.Flows().Has('NodeTID', 'tid-veth-ns1')"))
    assert.equal(await rows.first().getAttribute('data-uuid'), 'flow-http', 'largest total bytes first')
    const http = await rows.first().innerText()
    assert.match(http, /HTTP/)
    assert.match(http, /10\.0\.0\.2:43210/)
    assert.match(http, /10\.0\.0\.3:80/)
    assert.match(http, /curl\s*4711/)
    assert.match(http, /nginx\s*1204/)
    assert.match(http, /722\.3 KiB|717 KiB/)

    await page.click('#flows-table th[data-sort=packets]')
    assert.equal(await rows.first().getAttribute('data-uuid'), 'flow-icmp', 'most packets first')
    await page.click('#flows-table th[data-sort=packets]')
    assert.equal(await rows.first().getAttribute('data-uuid'), 'flow-dns', 'fewest packets first')
    await page.click('#flows-table th[data-sort=bytes]')

    await rows.first().click()
    await page.locator('#graph .node.highlighted[data-id=veth-ns1]').waitFor()
    await shot('flows')
    await page.keyboard.press('Escape')
    await waitForCount(page, '#graph .node.highlighted', 0)
  })

  it('runs a Gremlin query to highlight, then to filter', async () => {
    const query = "G.V().Has('Type', 'veth')"
    await page.fill('#query-input', query)
    await page.click('#query-run')
    await waitForCount(page, '#graph .node.highlighted', 4)
    assert.ok(server.recorded.queries.includes(query))
    assert.equal(await page.locator('#graph .node.dimmed').count(), 9)
    await page.locator('#query-result', { hasText: '4 nodes highlighted' }).waitFor()
    await shot('query')

    await page.selectOption('#query-mode', 'filter')
    await page.click('#query-run')
    await nodeCount(7) // the 4 veths plus host, ns1 and ns2 as context
    await page.locator('#query-result', { hasText: '4 nodes shown' }).waitFor()
    await shot('filter')

    await page.fill('#query-input', 'G.V().Nope()')
    await page.click('#query-run')
    await page.locator('#query-result.error', { hasText: 'unknown step Nope' }).waitFor()

    await page.fill('#query-input', 'G.V().Count()')
    await page.click('#query-run')
    await page.locator('#query-result', { hasText: 'Result: 13' }).waitFor()

    await page.click('#query-clear')
    await nodeCount(13)
    await page.selectOption('#query-mode', 'highlight')
  })

  it('creates a capture on the selected interface through the form, lists and deletes it', async () => {
    await page.locator('#graph .node[data-id=ns1-eth0] .node-body').click()
    await page.locator('#details h2', { hasText: 'eth0' }).waitFor()
    await page.click('#details button[data-action=capture]')
    await page.locator('#capture-form').waitFor({ state: 'visible' })
    assert.equal(await page.inputValue('#capture-form input[name=GremlinQuery]'), "G.V().Has('TID', 'tid-ns1-eth0')")
    await page.fill('#capture-form input[name=BPFFilter]', 'tcp port 80')
    await page.selectOption('#capture-form select[name=Type]', 'afpacket')
    await page.click('#capture-form button[type=submit]')
    await page.locator('#capture-form .form-message.ok', { hasText: 'created' }).waitFor()
    assert.deepEqual(server.recorded.capturePosts, [{
      GremlinQuery: "G.V().Has('TID', 'tid-ns1-eth0')",
      BPFFilter: 'tcp port 80',
      Name: 'eth0 capture',
      Type: 'afpacket'
    }])
    const card = page.locator('#capture-list .capture-card')
    assert.equal(await card.count(), 1)
    const text = await card.innerText()
    assert.match(text, /eth0 capture/)
    assert.match(text, /tcp port 80/)
    assert.match(text, /afpacket/)
    assert.equal(await page.locator('#tab-capture-count').innerText(), '1')
    await shot('captures')

    await card.locator('button[data-action=flows]').click()
    await page.locator('#flows-title', { hasText: 'of capture eth0 capture' }).waitFor()
    const uuid = await card.getAttribute('data-uuid')
    assert.ok(uuid !== null)
    assert.equal(await page.inputValue('#flows-query'), `G.Flows().Has('CaptureID', '${uuid}')`)

    const del = card.locator('button[data-action=delete]')
    await del.click()
    await page.locator('#capture-list button[data-action=delete].armed').waitFor()
    await del.click()
    await page.locator('#capture-list .capture-card').waitFor({ state: 'detached' })
    assert.deepEqual(server.recorded.captureDeletes, [uuid])
  })

  it('travels back in time with G.At and returns to live', async () => {
    await page.click('#tab-details')
    await page.fill('#time-input', '2024-03-01T09:00:00')
    await page.click('#time-go')
    await nodeCount(9) // ns2, its interfaces and veth-ns2 did not exist yet
    assert.ok(server.recorded.queries.includes(`G.At(${historyTime}).V()`), `queries: ${server.recorded.queries.slice(-4).join(' | ')}`)
    assert.ok(server.recorded.queries.includes(`G.At(${historyTime}).E()`))
    await page.locator('#status-live', { hasText: 'History · 2024-03-01 09:00:00' }).waitFor()
    await page.locator('#time-mode', { hasText: 'History' }).waitFor()
    await shot('history')

    await page.click('#time-live')
    await nodeCount(13)
    await page.locator('#status-live', { hasText: 'Live · websocket' }).waitFor()
  })

  it('falls back to polling when the websocket is refused', async () => {
    server.wsEnabled = false
    const second = await context.newPage() // same profile: the authtoken cookie is kept
    watch(second)
    try {
      await second.goto(server.url)
      await second.locator('#status-live', { hasText: 'Polling every 5 s' }).waitFor()
      await nodeCount(13, second)
      server.nodes.push({
        ID: 'dummy0', Host: 'compute-1', Origin: 'agent.compute-1', CreatedAt: Date.now(), UpdatedAt: Date.now(), DeletedAt: null, Revision: 1,
        Metadata: { Name: 'dummy0', Type: 'dummy', State: 'DOWN', TID: 'tid-dummy0' }
      })
      // one poll period (5 s) later the new node is drawn
      await nodeCount(14, second, 15_000)
    } finally {
      await second.close()
      server.wsEnabled = true
    }
  })

  it('lays out a larger topology without overlapping nodes or boxes', async () => {
    const big = largeTopology(8, 24, 4)
    const saved = { nodes: server.nodes, edges: server.edges }
    server.nodes = big.nodes
    server.edges = big.edges
    const third = await context.newPage()
    watch(third)
    try {
      await third.goto(server.url)
      await nodeCount(big.nodes.length, third, 20_000)
      const overlaps = await third.evaluate(`(() => {
        const circles = [...document.querySelectorAll('#graph .node-body')].map((c) => c.getBoundingClientRect())
        const boxes = [...document.querySelectorAll('#graph rect.box')].map((b) => b.getBoundingClientRect())
        const inter = (a, b) => a.left < b.right - 0.5 && b.left < a.right - 0.5 && a.top < b.bottom - 0.5 && b.top < a.bottom - 0.5
        const inside = (a, b) => a.left >= b.left - 0.5 && a.right <= b.right + 0.5 && a.top >= b.top - 0.5 && a.bottom <= b.bottom + 0.5
        let n = 0
        for (let i = 0; i < circles.length; i++) for (let j = i + 1; j < circles.length; j++) if (inter(circles[i], circles[j])) n++
        for (let i = 0; i < boxes.length; i++) for (let j = i + 1; j < boxes.length; j++) {
          if (inter(boxes[i], boxes[j]) && !inside(boxes[i], boxes[j]) && !inside(boxes[j], boxes[i])) n++
        }
        return n
      })()`)
      assert.equal(overlaps, 0)
      assert.equal(await third.locator('#graph rect.box').count(), 8 + 8 * 4)
      await screenshot(third, 'large')
    } finally {
      await third.close()
      server.nodes = saved.nodes
      server.edges = saved.edges
    }
  })

  it('raised no uncaught error in the page', () => {
    assert.deepEqual(pageErrors, [])
  })
})
