import { test } from 'node:test'
import assert from 'node:assert/strict'
import { buildFlowMatrix, buildTopologyMatrix, collectMatrix, contextPrefix, flowSocketLists, isListenSocket, listenPorts, toMatrixHost } from '../../src/flow-matrix/matrix.ts'
import { toCsv, toDot } from '../../src/flow-matrix/format.ts'
import { renderSvg } from '../../src/flow-matrix/svg.ts'
import type { MatrixHost, MatrixSocket } from '../../src/flow-matrix/types.ts'
import { fixtureGraph } from '../helpers.ts'

const expectedRows = [
  'TCP,node-a,127.0.0.1,6379,/usr/bin/redis-server,redis-server,node-a,127.0.0.1,/usr/bin/redis-cli,redis-cli',
  'TCP,node-b,10.0.0.2,22,/usr/sbin/sshd,sshd,node-a,10.0.0.1,/usr/bin/ssh,ssh',
  'TCP,node-b,10.0.0.2,80,/usr/sbin/nginx,nginx,node-a,10.0.0.1,/usr/bin/curl,curl',
  'UDP,node-b,10.0.0.2,53,/usr/sbin/unbound,unbound,node-a,10.0.0.1,/usr/bin/dig,dig'
]

function hosts (): MatrixHost[] {
  return fixtureGraph().nodes.map(toMatrixHost).filter((h) => h !== undefined && h.Sockets.length > 0) as MatrixHost[]
}

const byAddress = (address: string): MatrixHost | undefined => {
  const all = hosts()
  if (address === '10.0.0.2') return all.find((h) => h.Host === 'node-b')
  if (address === '10.0.0.1') return all.find((h) => h.Host === 'node-a')
  return undefined
}

test('listen sockets are TCP LISTEN and unconnected UDP (CLOSE with a wildcard remote)', () => {
  const s = (o: Partial<MatrixSocket>): MatrixSocket => ({ Protocol: 'TCP', LocalAddress: '0.0.0.0', LocalPort: 1, RemoteAddress: '0.0.0.0', RemotePort: 0, State: 'LISTEN', ...o })
  assert.equal(isListenSocket(s({})), true)
  assert.equal(isListenSocket(s({ Protocol: 'UDP', State: 'CLOSE' })), true)
  assert.equal(isListenSocket(s({ Protocol: 'UDP', State: 'CLOSE', RemoteAddress: '10.0.0.1' })), false)
  assert.equal(isListenSocket(s({ State: 'ESTABLISHED' })), false)
  assert.deepEqual([...listenPorts(hosts())].sort((a, b) => a - b), [22, 53, 80, 6379])
})

test('the topology matrix pairs clients with server processes, loopback on the same host only', async () => {
  const result = await buildTopologyMatrix(hosts(), { historical: false, lookupHost: async (a) => byAddress(a) })
  assert.deepEqual(toCsv(result).trim().split('\n').slice(1).sort(), expectedRows)
  assert.deepEqual(result.unknown, [])

  // the same loopback connection seen from another host must not pair with node-a's server
  const lonely: MatrixHost = { Host: 'node-c', Sockets: [{ Protocol: 'TCP', LocalAddress: '127.0.0.1', LocalPort: 41000, RemoteAddress: '127.0.0.1', RemotePort: 6379, State: 'ESTABLISHED', Process: '/x', Name: 'x' }] }
  const withC = await buildTopologyMatrix([...hosts(), lonely], { historical: false, lookupHost: async (a) => byAddress(a) })
  assert.equal(withC.entries.length, 4)
  assert.deepEqual(withC.unknown.map((u) => `${u.host}:${u.socket.RemotePort}`), ['node-c:6379'])
})

test('a time context also accepts connections that are no longer established', async () => {
  const [a, b] = hosts() as [MatrixHost, MatrixHost]
  const closing = { ...a, Sockets: a.Sockets.map((s) => s.Name === 'curl' ? { ...s, State: 'TIME_WAIT' } : s) }
  const live = await buildTopologyMatrix([closing, b], { historical: false, lookupHost: async (x) => byAddress(x) })
  const past = await buildTopologyMatrix([closing, b], { historical: true, lookupHost: async (x) => byAddress(x) })
  assert.equal(live.entries.some((e) => e.clientProcName === 'curl'), false)
  assert.equal(past.entries.some((e) => e.clientProcName === 'curl'), true)
})

test('flow sockets give rows, including servers bound to the wildcard address', async () => {
  const lists = flowSocketLists([{
    'flow-1': [
      { Protocol: 'TCP', LocalAddress: '10.0.0.1', LocalPort: 52000, RemoteAddress: '10.0.0.2', RemotePort: 80, State: 'ESTABLISHED', Process: '/usr/bin/wget', Name: 'wget' },
      { Protocol: 'TCP', LocalAddress: '10.0.0.2', LocalPort: 80, RemoteAddress: '10.0.0.1', RemotePort: 52000, State: 'ESTABLISHED', Process: '/usr/sbin/nginx', Name: 'nginx' }
    ]
  }, 'not a map'])
  assert.equal(lists.length, 1)
  const onlyListeners = hosts().map((h) => ({ ...h, Sockets: h.Sockets.filter(isListenSocket) }))
  const entries = await buildFlowMatrix(lists, listenPorts(hosts()), async (addr) => onlyListeners.find((h) => h.Host === (addr === '10.0.0.2' ? 'node-b' : 'node-a')))
  assert.deepEqual(entries.map((e) => `${e.server}/${e.serverProcName}<-${e.client}/${e.clientProcName}:${e.port}`), ['node-b/nginx<-node-a/wget:80'])
})

test('collectMatrix issues skydive-flow-matrix\'s queries with the time context', async () => {
  const seen: string[] = []
  const g = fixtureGraph()
  const result = await collectMatrix(async (q) => {
    seen.push(q)
    if (q.includes("Has('Type', 'host').HasKey('Sockets')")) return g.nodes.filter((n) => n.Metadata.Type === 'host')
    if (q.includes("IPV4Range('10.0.0.2/32')")) return g.nodes.filter((n) => n.ID === 'host-b')
    if (q.includes('Flows()')) return []
    return []
  }, { at: '-10m', duration: 60, useFlows: true })
  assert.ok(result !== null)
  assert.deepEqual(result.entries.map((e) => e.serverProcName).sort(), ['nginx', 'redis-server', 'sshd', 'unbound'])
  assert.deepEqual(seen, [
    "G.Context('-10m', 60).V().Has('Type', 'host').HasKey('Sockets')",
    "G.Context('-10m', 60).V().Has('IPV4', IPV4Range('10.0.0.2/32')).In('Type', 'host')",
    "G.Context('-10m', 60).Flows().Has('Transport', NE('')).Sockets()"
  ])
  assert.equal(contextPrefix({}), '')
  assert.equal(contextPrefix({ at: '-1m' }), "Context('-1m').")
  assert.equal(await collectMatrix(async () => []), null)
})

test('DOT and SVG drawings name every host and process', async () => {
  const result = await buildTopologyMatrix(hosts(), { historical: false, lookupHost: async (a) => byAddress(a) })
  const dot = toDot(result)
  assert.match(dot, /^\/\/ Skydive Flow matrix repport\ndigraph \{/)
  assert.match(dot, /subgraph "cluster_node-b" \{/)
  assert.match(dot, /"node-assh" -> "node-bsshd" \[label="TCP : 10\.0\.0\.2:22"\]/)
  assert.match(dot, /"node-bsshd" \[label="sshd\\n\\nnode-b"/)
  const svg = renderSvg(result)
  assert.match(svg, /^<\?xml version="1\.0" encoding="UTF-8"\?>\n<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg"/)
  for (const text of ['node-a', 'node-b', 'sshd', 'curl', 'TCP : 10.0.0.2:80', 'UDP : 10.0.0.2:53']) assert.ok(svg.includes(`>${text}<`), text)
  // well-formed enough: every opened element is closed
  const opened = (svg.match(/<(g|svg|text|defs|marker|title)[ >]/g) ?? []).length
  const closed = (svg.match(/<\/(g|svg|text|defs|marker|title)>/g) ?? []).length
  assert.equal(opened, closed)
  assert.equal(renderSvg({ entries: [{ protocol: 'TCP', server: 'a<b', serverIp: '1.1.1.1', port: 1, serverProc: '', serverProcName: 'x&y', client: 'c', clientIp: '2.2.2.2', clientProc: '', clientProcName: 'z' }], unknown: [] }).includes('a&lt;b'), true)
})

test('the CLI refuses bad arguments with usage and exit code 2', async () => {
  const { runFlowMatrixCommand } = await import('../../src/flow-matrix/command.ts')
  const out = { text: '', write (s: string | Uint8Array) { this.text += String(s); return true } }
  const err = { text: '', write (s: string | Uint8Array) { this.text += String(s); return true } }
  assert.equal(await runFlowMatrixCommand([], out, err), 2)
  assert.match(err.text, /--analyzer HOST:PORT is required/)
  assert.equal(await runFlowMatrixCommand(['--analyzer', 'x:1', '--duration', 'soon'], out, err), 2)
  assert.match(err.text, /--duration must be a whole number of seconds/)
  assert.equal(await runFlowMatrixCommand(['--analyzer', 'nope'], out, err), 1)
  assert.match(err.text, /--analyzer "nope": expected HOST:PORT/)
  assert.equal(await runFlowMatrixCommand(['--bogus'], out, err), 2)
  assert.match(err.text, /Unknown option '--bogus'/)
  assert.equal(await runFlowMatrixCommand(['--help'], out, err), 0)
  assert.match(out.text, /^Usage: topoflow flow-matrix/)
})
