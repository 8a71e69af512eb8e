import { after, before, test } from 'node:test'
import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import { closeAll, createRegistry, InProcessBus, loadConfig, silentLogger, type BusMessage, type Component } from '@topoflow/core'
import { topics, type Resource } from '@topoflow/schemas'
import { run, VethPair, type Running } from '@topoflow/testing'
import { buildCaptureAgent, type CaptureAgent } from '../../../src/app.ts'
import type { SocketInfo, SocketsEvent } from '../../../src/topology/types.ts'
import { waitFor } from '../../unit/capture/helpers.ts'

/**
 * A TCP connection shorter than the socket interval gets its process: the capture agent of this
 * host (buildCaptureAgent, as `topoflow capture` runs it) with a 30 s socket interval captures on a
 * veth; a python3 client connects through it to a server in another namespace and closes within
 * 250 ms. The SYN the capture sees makes the agent scan its socket tables, and that snapshot names
 * the client and the server. With `on_connect_min_interval: 0` the same connection is never seen.
 */

const port = 20000 + (process.pid % 20000)
const pair = new VethPair('cs')
let server: Running | undefined

const serverScript = `
import os, socket, sys
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((sys.argv[1], int(sys.argv[2])))
s.listen(16)
print('ready', os.getpid(), flush=True)
while True:
    c, _ = s.accept()
    while c.recv(4096):
        pass
    c.close()
`

/** Connects, says hello, prints who it is and from which port, closes 250 ms after connecting. */
const clientScript = `
import os, socket, sys, time
c = socket.create_connection((sys.argv[1], int(sys.argv[2])))
c.sendall(b'hello')
comm = open('/proc/self/comm').read().strip()
print(os.getpid(), c.getsockname()[1], comm, os.readlink('/proc/self/exe'), round(time.time() * 1000), flush=True)
time.sleep(0.25)
c.close()
`

before(() => {
  pair.create()
  server = run('ip', ['netns', 'exec', pair.nsB, 'python3', '-c', serverScript, pair.ipB, String(port)])
})

after(() => {
  server?.child.kill('SIGKILL')
  pair.destroy()
})

interface Harness {
  agent: CaptureAgent
  snapshots: Array<{ event: SocketsEvent, at: number }>
  close: () => Promise<void>
}

/** The capture agent of this host, with a capture on the client's end of the veth. */
async function startAgent (onConnectMinInterval: number): Promise<Harness> {
  const config = loadConfig({
    overrides: {
      host_id: `tf-connscan-${process.pid}-${onConnectMinInterval}`,
      'agent.topology.socketinfo.host_update': 30,
      'agent.topology.socketinfo.on_connect_min_interval': onConnectMinInterval,
      'agent.topology.resync': 300
    }
  })
  const bus = new InProcessBus()
  const snapshots: Harness['snapshots'] = []
  const subscription = await bus.subscribe<SocketsEvent>({
    topics: [topics.sockets],
    group: `test-${randomUUID()}`,
    handler: async (batch: Array<BusMessage<SocketsEvent>>) => {
      for (const m of batch) if (m.value !== null) snapshots.push({ event: m.value, at: Date.now() })
    }
  })
  const agent = buildCaptureAgent({ config, bus, logger: silentLogger(), registry: createRegistry('test', { processMetrics: false }) })
  const started: Component[] = []
  const close = async (): Promise<void> => {
    await closeAll([{ start: async () => {}, close: async () => { await subscription.close() } }, ...started], { logger: silentLogger() })
  }
  try {
    for (const c of agent.components) {
      started.push(c) // closed even if its start fails half way
      await c.start()
    }
    const capture: Resource = {
      ResourceType: 'capture',
      UUID: randomUUID(),
      Resource: { GremlinQuery: `G.V().Has('Name', '${pair.ifA}')`, Type: 'afpacket' },
      Deleted: false,
      Time: Date.now()
    }
    await bus.publish(topics.resources, [{ key: capture.UUID, value: capture }])
    await waitFor('the capture on the veth to be active', () => {
      const s = agent.captures.statuses()[0]
      if (s?.State === 'error') assert.fail(s.Error ?? 'capture error')
      return s?.State === 'active' || undefined
    }, 30000)
    // Where the agent stands before the client: only the scan at start.
    assert.equal(snapshots.length, 1, 'one socket snapshot at start, none since (30 s interval)')
  } catch (err) {
    await close()
    throw err
  }
  return { agent, snapshots, close }
}

interface ClientRun { pid: number, localPort: number, comm: string, exe: string, connectedAt: number, startedAt: number, endedAt: number }

async function shortClient (): Promise<ClientRun> {
  const startedAt = Date.now()
  const client = run('ip', ['netns', 'exec', pair.nsA, 'python3', '-c', clientScript, pair.ipB, String(port)])
  const result = await client.done
  const endedAt = Date.now()
  assert.equal(result.code, 0, result.stderr)
  const [pid, localPort, comm, exe, connectedAt] = result.stdout.trim().split(' ')
  return { pid: Number(pid), localPort: Number(localPort), comm: comm ?? '', exe: exe ?? '', connectedAt: Number(connectedAt), startedAt, endedAt }
}

const serverPid = (): number => Number(/ready (\d+)/.exec(server?.stdout ?? '')?.[1])

const clientEnd = (sockets: SocketInfo[], c: ClientRun): SocketInfo | undefined =>
  sockets.find((s) => s.Protocol === 'TCP' && s.LocalPort === c.localPort && s.RemotePort === port && s.LocalAddress === pair.ipA)

const serverEnd = (sockets: SocketInfo[], c: ClientRun): SocketInfo | undefined =>
  sockets.find((s) => s.Protocol === 'TCP' && s.LocalPort === port && s.RemotePort === c.localPort && s.LocalAddress === pair.ipB)

test('a connection shorter than the socket interval is published with the processes at both ends', async (t) => {
  await waitFor('the server to listen', () => server?.stdout.includes('ready') || undefined, 15000)
  const h = await startAgent(0.1)
  t.after(h.close)
  const client = await shortClient()
  // The client has exited: no scan from now on can see its socket. Only one made while it ran can.
  const seen = await waitFor('a snapshot with the client connection', () => h.snapshots.find((s) => clientEnd(s.event.Sockets, client) !== undefined), 5000)
  t.diagnostic(`connection published ${seen.event.Time - client.connectedAt} ms after it opened (it lived 250 ms)`)
  const mine = clientEnd(seen.event.Sockets, client)
  assert.deepEqual(
    { Pid: mine?.Pid, Name: mine?.Name, Process: mine?.Process, RemoteAddress: mine?.RemoteAddress, State: mine?.State },
    { Pid: client.pid, Name: client.comm, Process: client.exe, RemoteAddress: pair.ipB, State: 'ESTABLISHED' }
  )
  assert.equal(client.comm, 'python3')
  // The server side, whose SYN-ACK went through the capture too.
  const accepted = serverEnd(seen.event.Sockets, client)
  assert.equal(accepted?.Pid, serverPid(), 'the server process holds the accepted socket')
  assert.ok(seen.event.Time >= client.connectedAt && seen.event.Time <= client.endedAt, 'published while the connection lived')
  const stats = h.agent.topology.stats()
  assert.ok(stats.socketScansOnConnect >= 1, `connection scans: ${stats.socketScansOnConnect}`)
  assert.equal(stats.errors, 0)
})

test('with on_connect_min_interval 0 the same short connection is never seen: the 30 s poll misses it', async (t) => {
  await waitFor('the server to listen', () => server?.stdout.includes('ready') || undefined, 15000)
  const h = await startAgent(0)
  t.after(h.close)
  const client = await shortClient()
  // The capture saw the whole connection (handshake, data, both FINs)...
  await waitFor('the capture to see the connection', () => (h.agent.captures.statuses()[0]?.PacketsReceived ?? 0) >= 7 || undefined, 5000)
  await h.agent.captures.publishStatus()
  // ...yet no scan ran while the client lived, and none can see it now that the client is gone.
  assert.equal(h.agent.topology.stats().socketScansOnConnect, 0)
  assert.equal(h.snapshots.length, 1, 'only the snapshot at start')
  assert.equal(h.snapshots.some((s) => clientEnd(s.event.Sockets, client) !== undefined), false)
})
