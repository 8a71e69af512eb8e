import { after, before, test } from 'node:test'
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { copyFileSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Writable } from 'node:stream'
import { run, sh, VethPair, waitFor, type Running } from '@topoflow/testing'
import { runPcapCommand, type Flow } from '../../../src/flow/index.ts'

/**
 * Real traffic between two namespaces, captured by tcpdump, read by `topoflow pcap` and by
 * `tshark -z conv,tcp -z conv,udp`: one flow per tshark conversation, with per-direction frames
 * and bytes equal. ICMP and ICMPv6 echoes, which tshark has no conversation table for, are
 * counted with display filters.
 *
 * Differences that are Skydive's semantics, not counting errors, asserted as such:
 * - VXLAN outer flow: Skydive keys it by VNI and destination port, not the source port (Linux
 *   derives the source port from a hash of the inner flow, so each inner flow direction makes a
 *   tshark UDP conversation of its own). Our one outer flow equals the sum of tshark's UDP
 *   conversations to port 4789 between the two hosts, direction by direction.
 * - Flows inside the tunnel count the inner Ethernet frame, as Skydive's packet length of an
 *   inner layer; tshark counts the whole captured frame, so its bytes are ours plus the 50
 *   bytes of outer Ethernet, IPv4, UDP and VXLAN headers per frame.
 * Everything else (TCP and UDP over IPv4 and IPv6, refused TCP) matches exactly: both count the
 * frame length on the wire (`frame.len`, the pcap record's original length).
 */

const tools = ['ip', 'tcpdump', 'tshark', 'curl', 'ping', 'python3']
const VXLAN_OVERHEAD = 14 + 20 + 8 + 8

function unavailable (): string | undefined {
  if (process.getuid?.() !== 0) return 'needs root (network namespaces)'
  const missing = tools.filter((t) => spawnSync('sh', ['-c', `command -v ${t}`], { stdio: 'ignore' }).status !== 0)
  return missing.length > 0 ? `missing tools: ${missing.join(', ')}` : undefined
}

const why = unavailable()
// In CI a missing tool is a failure, not a skip.
const skip = why !== undefined && process.env.CI !== 'true' ? why : false

const pair = new VethPair('tc')
const net = 10 + (process.pid % 200)
const ip6A = `fd00:${net}::1`
const ip6B = `fd00:${net}::2`
const vxA = `10.214.${net}.1`
const vxB = `10.214.${net}.2`
const workDir = mkdtempSync(join(tmpdir(), 'tf-tshark-conv-'))
const children: Running[] = []

before(() => {
  if (why !== undefined) return
  pair.create()
  for (const [ns, ifc, ip6] of [[pair.nsA, pair.ifA, ip6A], [pair.nsB, pair.ifB, ip6B]] as const) {
    sh('ip', ['netns', 'exec', ns, 'sysctl', '-qw', `net.ipv6.conf.${ifc}.disable_ipv6=0`])
    sh('ip', ['-n', ns, 'addr', 'add', `${ip6}/64`, 'dev', ifc, 'nodad'])
  }
  // A VXLAN tunnel over the veth, VNI 42 on the IANA port.
  for (const [ns, ifc, local, remote, ip] of [[pair.nsA, pair.ifA, pair.ipA, pair.ipB, vxA], [pair.nsB, pair.ifB, pair.ipB, pair.ipA, vxB]] as const) {
    sh('ip', ['-n', ns, 'link', 'add', 'tfvx0', 'type', 'vxlan', 'id', '42', 'local', local, 'remote', remote, 'dstport', '4789', 'dev', ifc])
    sh('ip', ['netns', 'exec', ns, 'sysctl', '-qw', 'net.ipv6.conf.tfvx0.disable_ipv6=1'])
    sh('ip', ['-n', ns, 'addr', 'add', `${ip}/24`, 'dev', 'tfvx0'])
    sh('ip', ['-n', ns, 'link', 'set', 'tfvx0', 'up'])
  }
})

after(() => {
  for (const c of children) if (c.child.exitCode === null) c.child.kill('SIGKILL')
  pair.destroy()
  rmSync(workDir, { recursive: true, force: true })
})

function start (cmd: string, args: string[]): Running {
  const r = run(cmd, args)
  children.push(r)
  return r
}

/** An HTTP/1.0 server (it closes each connection: FIN) on `addr`, serving an empty directory. */
async function httpServer (ns: string, addr: string, port: number): Promise<Running> {
  const dir = join(workDir, `www-${port}`)
  mkdirSync(dir, { recursive: true })
  const server = start('ip', ['netns', 'exec', ns, 'python3', '-u', '-m', 'http.server', '--bind', addr, '--directory', dir, String(port)])
  await waitFor(() => server.stdout.includes('Serving HTTP') || (server.child.exitCode !== null ? assert.fail(`http.server exited: ${server.stderr}`) : false), { timeout: 15000, what: `http.server on ${addr}` })
  return server
}

function curl (ns: string, url: string): { code: number | null, stdout: string } {
  const r = spawnSync('ip', ['netns', 'exec', ns, 'curl', '-sS', '-g', '--max-time', '10', '-o', '/dev/null', '-w', '%{http_code}', url], { encoding: 'utf8' })
  return { code: r.status, stdout: r.stdout }
}

const udpServer = (addr: string, port: number): string => `
const s = require('node:dgram').createSocket('${addr.includes(':') ? 'udp6' : 'udp4'}'); let n = 0
s.on('message', (m, r) => { n++; if (n <= 3) s.send(Buffer.alloc(300, n), r.port, r.address); if (n === 5) setTimeout(() => s.close(), 50) })
s.bind(${port}, '${addr}', () => process.stdout.write('ready\\n'))
setTimeout(() => process.exit(2), 20000).unref()`

const udpClient = (addr: string, port: number): string => `
const s = require('node:dgram').createSocket('${addr.includes(':') ? 'udp6' : 'udp4'}'); let replies = 0
s.on('message', () => { if (++replies === 3) s.close() })
s.bind(0, () => { for (let i = 0; i < 5; i++) s.send(Buffer.alloc(100 + i, i), ${port}, '${addr}') })
setTimeout(() => process.exit(2), 20000).unref()`

/** Client sends 5 datagrams, the server answers the first 3: both directions, different counts. */
async function udpExchange (addr: string, port: number): Promise<void> {
  const server = start('ip', ['netns', 'exec', pair.nsB, process.execPath, '-e', udpServer(addr, port)])
  await waitFor(() => server.stdout.includes('ready') || (server.child.exitCode !== null ? assert.fail(`UDP server exited: ${server.stderr}`) : false), { timeout: 15000, what: 'the UDP server' })
  const client = start('ip', ['netns', 'exec', pair.nsA, process.execPath, '-e', udpClient(addr, port)])
  assert.equal((await client.done).code, 0, 'the UDP client got its 3 replies')
  assert.equal((await server.done).code, 0, 'the UDP server got its 5 datagrams')
}

interface Endpoint { addr: string, port: number }
interface Conversation { a: Endpoint, b: Endpoint, abFrames: number, abBytes: number, baFrames: number, baBytes: number }

function endpoint (s: string): Endpoint {
  const i = s.lastIndexOf(':')
  return { addr: s.slice(0, i), port: Number(s.slice(i + 1)) }
}

/**
 * The TCP and UDP conversation tables of `tshark -q -z conv,tcp -z conv,udp`. Columns: "<-" is
 * B to A, "->" is A to B. tshark prints bytes as "N bytes" below 10 000 and rounds to kB above,
 * so every conversation here stays small and a rounded figure fails loudly.
 */
function tsharkConversations (file: string): Record<'TCP' | 'UDP', Conversation[]> {
  const out = sh('tshark', ['-q', '-n', '-r', file, '-z', 'conv,tcp', '-z', 'conv,udp'])
  const tables: Record<'TCP' | 'UDP', Conversation[]> = { TCP: [], UDP: [] }
  let current: Conversation[] | undefined
  for (const line of out.split('\n')) {
    const title = line.match(/^(TCP|UDP) Conversations/)
    if (title !== null) { current = tables[title[1] as 'TCP' | 'UDP']; continue }
    if (current === undefined || !line.includes('<->')) continue
    const m = line.match(/^(\S+)\s+<->\s+(\S+)\s+(\d+)\s+(\d+)\s+(\S+)\s+(\d+)\s+(\d+)\s+(\S+)\s/)
    assert.ok(m !== null, `unexpected tshark conversation line: ${line}`)
    assert.ok(m[5] === 'bytes' && m[8] === 'bytes', `tshark rounded a byte count (conversation too large to compare exactly): ${line}`)
    current.push({ a: endpoint(m[1] as string), b: endpoint(m[2] as string), baFrames: Number(m[3]), baBytes: Number(m[4]), abFrames: Number(m[6]), abBytes: Number(m[7]) })
  }
  return tables
}

/** Frames and bytes matching a display filter (for ICMP, which has no conversation table). */
function tsharkCount (file: string, filter: string): [number, number] {
  const lens = sh('tshark', ['-n', '-r', file, '-Y', filter, '-T', 'fields', '-e', 'frame.len']).split('\n').filter((l) => l !== '')
  return [lens.length, lens.reduce((s, l) => s + Number(l), 0)]
}

async function topoflowPcap (file: string): Promise<Flow[]> {
  let text = ''
  const stdout = new Writable({ write (chunk: Buffer, _enc, cb) { text += chunk.toString(); cb() } })
  let errors = ''
  const stderr = new Writable({ write (chunk: Buffer, _enc, cb) { errors += chunk.toString(); cb() } })
  const code = await runPcapCommand([file], stdout, stderr)
  assert.equal(code, 0, `topoflow pcap failed: ${errors}`)
  return text.split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as Flow)
}

const isTunnelOuter = (f: Flow): boolean => f.LayersPath.endsWith('/VXLAN')

/** [AB frames, AB bytes, BA frames, BA bytes] of a flow, oriented from endpoint `a`. */
function oriented (f: Flow, a: Endpoint): [number, number, number, number] {
  const m = f.Metric
  const forward = f.Network?.A === a.addr && f.Transport?.A === a.port
  return forward ? [m.ABPackets, m.ABBytes, m.BAPackets, m.BABytes] : [m.BAPackets, m.BABytes, m.ABPackets, m.ABBytes]
}

function sameEnds (f: Flow, c: Conversation): boolean {
  const n = f.Network; const t = f.Transport
  if (n === undefined || t === undefined) return false
  return (n.A === c.a.addr && t.A === c.a.port && n.B === c.b.addr && t.B === c.b.port) ||
    (n.A === c.b.addr && t.A === c.b.port && n.B === c.a.addr && t.B === c.a.port)
}

test('topoflow pcap gives one flow per tshark conversation with equal frames and bytes each way', { skip, timeout: 60000 }, async () => {
  if (why !== undefined) assert.fail(`CI=true and this test cannot run: ${why}`)
  const file = join(workDir, 'traffic.pcap')
  const tcpdump = start('ip', ['netns', 'exec', pair.nsA, 'tcpdump', '-n', '--immediate-mode', '-U', '-i', pair.ifA, '-w', file])
  await waitFor(() => /listening on/.test(tcpdump.stderr) || (tcpdump.child.exitCode !== null ? assert.fail(tcpdump.stderr) : false), { timeout: 15000, what: 'tcpdump to listen' })

  // TCP with handshake and FIN, over IPv4, IPv6 and the VXLAN tunnel; a refused connection.
  await httpServer(pair.nsB, pair.ipB, 8000)
  await httpServer(pair.nsB, ip6B, 8006)
  await httpServer(pair.nsB, vxB, 8042)
  assert.equal(curl(pair.nsA, `http://${pair.ipB}:8000/`).stdout, '200')
  assert.equal(curl(pair.nsA, `http://[${ip6B}]:8006/`).stdout, '200')
  assert.equal(curl(pair.nsA, `http://${vxB}:8042/`).stdout, '200')
  const refused = curl(pair.nsA, `http://${pair.ipB}:8001/`)
  assert.equal(refused.code, 7, 'curl: connection refused')
  // UDP both ways, IPv4 and IPv6.
  await udpExchange(pair.ipB, 9999)
  await udpExchange(ip6B, 9996)
  // ICMP and ICMPv6 echo; ICMP through the tunnel.
  sh('ip', ['netns', 'exec', pair.nsA, 'ping', '-q', '-c', '3', '-i', '0.05', '-W', '2', pair.ipB])
  sh('ip', ['netns', 'exec', pair.nsA, 'ping', '-6', '-q', '-c', '4', '-i', '0.05', '-W', '2', ip6B])
  sh('ip', ['netns', 'exec', pair.nsA, 'ping', '-q', '-c', '2', '-i', '0.05', '-W', '2', vxB])
  // The veth is FIFO: once this marker echo is in the file, every earlier packet is too.
  sh('ip', ['netns', 'exec', pair.nsA, 'ping', '-q', '-c', '1', '-s', '77', '-W', '2', pair.ipB])
  await waitFor(() => tsharkCount(file, 'icmp.type == 0 && frame.len == 119')[0] === 1, { timeout: 10000, what: 'the marker echo reply in the capture' })
  tcpdump.child.kill('SIGINT')
  await tcpdump.done

  // TF_KEEP_PCAP=path keeps the capture for a look with tshark when this test fails.
  if (process.env.TF_KEEP_PCAP !== undefined) copyFileSync(file, process.env.TF_KEEP_PCAP)
  const conv = tsharkConversations(file)
  const flows = await topoflowPcap(file)
  const outer = flows.filter(isTunnelOuter)
  const tunnelled = new Set(outer.map((f) => f.UUID))
  const inner = (f: Flow): boolean => tunnelled.has(f.ParentUUID)

  // TCP: every conversation, outside and inside the tunnel.
  assert.equal(conv.TCP.length, 4, `4 TCP conversations (IPv4, IPv6, refused, in the tunnel): ${JSON.stringify(conv.TCP)}`)
  const tcpFlows = flows.filter((f) => f.Transport?.Protocol === 'TCP')
  assert.equal(tcpFlows.length, conv.TCP.length, 'one TCP flow per tshark TCP conversation')
  for (const c of conv.TCP) {
    const matching = tcpFlows.filter((f) => sameEnds(f, c))
    assert.equal(matching.length, 1, `one flow for ${JSON.stringify(c)}`)
    const f = matching[0] as Flow
    const [abF, abB, baF, baB] = oriented(f, c.a)
    const overhead = inner(f) ? VXLAN_OVERHEAD : 0
    assert.deepEqual([abF, abB + overhead * abF, baF, baB + overhead * baF], [c.abFrames, c.abBytes, c.baFrames, c.baBytes], `frames and bytes each way of ${f.LayersPath} ${c.a.addr}:${c.a.port} <-> ${c.b.addr}:${c.b.port}`)
  }
  const byPort = (p: number): Flow | undefined => tcpFlows.find((f) => f.Transport?.B === p)
  assert.equal(byPort(8000)?.FinishType, 2, 'HTTP over IPv4 ends with FIN')
  assert.equal(byPort(8006)?.Network?.Protocol, 'IPV6')
  assert.equal(byPort(8006)?.FinishType, 2, 'HTTP over IPv6 ends with FIN')
  assert.ok(byPort(8042) !== undefined && inner(byPort(8042) as Flow), 'HTTP in the tunnel is an inner flow of the VXLAN flow')
  assert.equal(byPort(8001)?.FinishType, 3, 'the refused connection ends with RST')
  assert.deepEqual([byPort(8001)?.Metric.ABPackets, byPort(8001)?.Metric.BAPackets], [1, 1], 'SYN, then RST')

  // UDP: the two exchanges match one to one; the tunnel's conversations add up to its one flow.
  const plainUdp = conv.UDP.filter((c) => c.a.port !== 4789 && c.b.port !== 4789)
  const vxlanUdp = conv.UDP.filter((c) => c.a.port === 4789 || c.b.port === 4789)
  assert.equal(plainUdp.length, 2, `2 UDP exchanges: ${JSON.stringify(conv.UDP)}`)
  const udpFlows = flows.filter((f) => f.Transport?.Protocol === 'UDP' && !isTunnelOuter(f))
  assert.equal(udpFlows.length, plainUdp.length, 'one UDP flow per tshark UDP conversation')
  for (const c of plainUdp) {
    const matching = udpFlows.filter((f) => sameEnds(f, c))
    assert.equal(matching.length, 1, `one flow for ${JSON.stringify(c)}`)
    assert.deepEqual(oriented(matching[0] as Flow, c.a), [c.abFrames, c.abBytes, c.baFrames, c.baBytes], `frames and bytes each way of UDP ${c.a.addr}:${c.a.port} <-> ${c.b.addr}:${c.b.port}`)
    assert.equal(c.abFrames + c.baFrames, 8, '5 datagrams out, 3 back')
  }
  assert.equal(outer.length, 1, 'one outer VXLAN flow (keyed by VNI and port 4789, whatever the source port)')
  const tunnel = outer[0] as Flow
  assert.equal(tunnel.Network?.ID, 42, 'the VNI')
  assert.ok(vxlanUdp.length >= 2, 'Linux picks a source port per inner flow')
  const sum = [0, 0, 0, 0]
  for (const c of vxlanUdp) {
    const fromA = c.a.addr === tunnel.Network?.A
    const v = fromA ? [c.abFrames, c.abBytes, c.baFrames, c.baBytes] : [c.baFrames, c.baBytes, c.abFrames, c.abBytes]
    for (let i = 0; i < 4; i++) sum[i] = (sum[i] as number) + (v[i] as number)
  }
  assert.deepEqual([tunnel.Metric.ABPackets, tunnel.Metric.ABBytes, tunnel.Metric.BAPackets, tunnel.Metric.BABytes], sum, 'the VXLAN flow = the sum of tshark\'s port-4789 conversations, each way')

  // ICMP echo: display-filter counts, each way.
  const echo = (version: 4 | 6, a: string, b: string, inTunnel: boolean): Flow => {
    const found = flows.filter((f) => f.ICMP?.Type === 'ECHO' && f.Network?.Protocol === (version === 4 ? 'IPV4' : 'IPV6') && f.Network.A === a && f.Network.B === b && inner(f) === inTunnel)
    assert.equal(found.length, 1, `one echo flow ${a} -> ${b}`)
    return found[0] as Flow
  }
  const checkEcho = (f: Flow, reqFilter: string, repFilter: string, overhead: number): void => {
    const [reqF, reqB] = tsharkCount(file, reqFilter)
    const [repF, repB] = tsharkCount(file, repFilter)
    assert.deepEqual([f.Metric.ABPackets, f.Metric.ABBytes + overhead * f.Metric.ABPackets, f.Metric.BAPackets, f.Metric.BABytes + overhead * f.Metric.BAPackets], [reqF, reqB, repF, repB], `echo ${f.Network?.A} -> ${f.Network?.B}`)
  }
  const v4 = flows.filter((f) => f.ICMP?.Type === 'ECHO' && f.Network?.A === pair.ipA && !inner(f)).sort((x, y) => x.Start - y.Start)
  assert.equal(v4.length, 2, 'the 3-echo ping and the marker, one flow each (different echo ids)')
  checkEcho(v4[0] as Flow, `icmp.type == 8 && ip.src == ${pair.ipA} && frame.len == 98 && !vxlan`, `icmp.type == 0 && ip.dst == ${pair.ipA} && frame.len == 98 && !vxlan`, 0)
  assert.equal((v4[0] as Flow).Metric.ABPackets, 3)
  checkEcho(echo(6, ip6A, ip6B, false), `icmpv6.type == 128 && ipv6.src == ${ip6A}`, `icmpv6.type == 129 && ipv6.dst == ${ip6A}`, 0)
  checkEcho(echo(4, vxA, vxB, true), `vxlan && icmp.type == 8 && ip.src == ${vxA}`, `vxlan && icmp.type == 0 && ip.dst == ${vxA}`, VXLAN_OVERHEAD)
})
