import { test } from 'node:test'
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { TopoflowError } from '@topoflow/core'
import { PcapStreamReader, packetTimeNs, type PcapPacket } from '../../../src/flow/index.ts'
import { frame, pcap, pcapFile } from './helpers.ts'

function readAll (buf: Buffer, chunk = buf.length): PcapPacket[] {
  const r = new PcapStreamReader()
  const out: PcapPacket[] = []
  for (let i = 0; i < buf.length; i += chunk) {
    r.push(buf.subarray(i, i + chunk))
    for (let p = r.next(); p !== undefined; p = r.next()) out.push(p)
  }
  r.end()
  for (let p = r.next(); p !== undefined; p = r.next()) out.push(p)
  return out
}

function formatError (fn: () => unknown): TopoflowError {
  try { fn() } catch (err) {
    assert.ok(TopoflowError.is(err), `expected a TopoflowError, got ${String(err)}`)
    return err
  }
  assert.fail('expected an error')
}

test('nanosecond pcap keeps nanosecond timestamps (values from tcpdump --nano)', () => {
  const pkts = readAll(readFileSync(pcap('tcp-handshake-nano.pcap')))
  assert.deepEqual(pkts.map(p => `${p.tsSec}.${String(p.tsNsec).padStart(9, '0')}`), [
    '1418145369.924505488', '1418145370.052027262', '1418145370.052115157'
  ])
  assert.equal(packetTimeNs(pkts[0] as PcapPacket), 1418145369924505488n)
  assert.equal(pkts[0]?.linkType, 113) // Linux cooked capture
})

test('big-endian microsecond pcap reads every packet (tcpdump counts 23)', () => {
  const pkts = readAll(readFileSync(pcap('pptp.pcap')))
  assert.equal(pkts.length, 23)
  assert.ok(pkts.every(p => p.tsNsec % 1000 === 0 && p.caplen === p.data.length))
})

test('pcapng file reads every packet (tcpdump counts 30)', () => {
  const pkts = readAll(readFileSync(pcap('OSPFv2_Capture_FINAL.pcapng')))
  assert.equal(pkts.length, 30)
})

test('chunked input of any size gives the same packets as one buffer', () => {
  for (const name of ['tcp-handshake-nano.pcap', 'OSPFv2_Capture_FINAL.pcapng', 'pptp.pcap']) {
    const buf = readFileSync(pcap(name))
    const whole = readAll(buf).map(p => [p.tsSec, p.tsNsec, p.data.toString('hex')])
    for (const chunk of [1, 7, 4096]) assert.deepEqual(readAll(buf, chunk).map(p => [p.tsSec, p.tsNsec, p.data.toString('hex')]), whole, `${name} in chunks of ${chunk}`)
  }
})

// ---- pcapng built by hand: two interfaces, timestamp resolutions, SPB, unknown blocks, two sections

function block (type: number, body: Buffer, le = true): Buffer {
  const pad = (4 - (body.length % 4)) % 4
  const total = 12 + body.length + pad
  const b = Buffer.alloc(total)
  if (le) { b.writeUInt32LE(type, 0); b.writeUInt32LE(total, 4); b.writeUInt32LE(total, total - 4) } else { b.writeUInt32BE(type, 0); b.writeUInt32BE(total, 4); b.writeUInt32BE(total, total - 4) }
  body.copy(b, 8)
  return b
}

function shb (le = true): Buffer {
  const body = Buffer.alloc(16)
  if (le) { body.writeUInt32LE(0x1a2b3c4d, 0); body.writeUInt16LE(1, 4) } else { body.writeUInt32BE(0x1a2b3c4d, 0); body.writeUInt16BE(1, 4) }
  body.writeInt32LE(-1, 8); body.writeInt32LE(-1, 12)
  return block(0x0a0d0d0a, body, le)
}

function idb (linkType: number, tsresol?: number, le = true): Buffer {
  const opts = tsresol === undefined ? Buffer.alloc(0) : Buffer.from(le ? [9, 0, 1, 0, tsresol, 0, 0, 0, 0, 0, 0, 0] : [0, 9, 0, 1, tsresol, 0, 0, 0, 0, 0, 0, 0])
  const body = Buffer.alloc(8)
  if (le) { body.writeUInt16LE(linkType, 0); body.writeUInt32LE(262144, 4) } else { body.writeUInt16BE(linkType, 0); body.writeUInt32BE(262144, 4) }
  return block(1, Buffer.concat([body, opts]), le)
}

function epb (ifId: number, ts: bigint, data: Buffer, le = true): Buffer {
  const h = Buffer.alloc(20)
  const hi = Number(ts >> 32n); const lo = Number(ts & 0xffffffffn)
  if (le) { h.writeUInt32LE(ifId, 0); h.writeUInt32LE(hi, 4); h.writeUInt32LE(lo, 8); h.writeUInt32LE(data.length, 12); h.writeUInt32LE(data.length, 16) } else { h.writeUInt32BE(ifId, 0); h.writeUInt32BE(hi, 4); h.writeUInt32BE(lo, 8); h.writeUInt32BE(data.length, 12); h.writeUInt32BE(data.length, 16) }
  return block(6, Buffer.concat([h, data]), le)
}

function spb (data: Buffer): Buffer {
  const h = Buffer.alloc(4)
  h.writeUInt32LE(data.length, 0)
  return block(3, Buffer.concat([h, data]))
}

const eth = frame({ src: '10.0.0.1', dst: '10.0.0.2', proto: 17, sport: 1000, dport: 2000, payload: 3 })
const rawIp = eth.subarray(14)

const multiInterfacePcapng = Buffer.concat([
  shb(),
  idb(1), // Ethernet, microseconds (default)
  idb(101, 9), // raw IP, nanoseconds
  block(0x0bad, Buffer.from('unknown block, skipped')),
  epb(0, 1700000000123456n, eth),
  epb(1, 1700000000987654321n, rawIp),
  spb(eth),
  block(4, Buffer.from([0, 0, 0, 0])), // name resolution block, skipped
  shb(false), // a new section, big-endian: interfaces start over
  idb(1, 3, false),
  epb(0, 1700000000555n, eth, false)
])

test('pcapng with several interfaces, timestamp resolutions, SPB, unknown blocks and a big-endian section', () => {
  for (const chunk of [multiInterfacePcapng.length, 5]) {
    const pkts = readAll(multiInterfacePcapng, chunk)
    assert.deepEqual(pkts.map(p => [p.ifIndex, p.linkType, p.tsSec, p.tsNsec, p.caplen, p.origLen]), [
      [0, 1, 1700000000, 123456000, eth.length, eth.length],
      [1, 101, 1700000000, 987654321, rawIp.length, rawIp.length],
      [0, 1, 0, 0, eth.length, eth.length],
      [0, 1, 1700000000, 555000000, eth.length, eth.length]
    ])
    assert.ok((pkts[1] as PcapPacket).data.equals(rawIp))
  }
})

// ---- malformed input: a clear error with its offset, never a crash or a hang

test('truncated pcap record gives TOPOFLOW_ERR_PCAP_FORMAT with the offset of the record', () => {
  const file = pcapFile([{ sec: 1, usec: 0, data: eth }, { sec: 2, usec: 0, data: eth }])
  const cut = file.subarray(0, file.length - 5)
  const r = new PcapStreamReader()
  r.push(cut)
  assert.ok(r.next() !== undefined)
  assert.equal(r.next(), undefined) // waiting for more bytes
  r.end()
  const err = formatError(() => r.next())
  assert.equal(err.code, 'TOPOFLOW_ERR_PCAP_FORMAT')
  assert.equal(err.context.byteOffset, 24 + 16 + eth.length)
  assert.match(err.message, /Truncated capture/)
  assert.throws(() => r.next(), (e: unknown) => e === err, 'the reader keeps failing the same way')
})

test('unknown magic, empty input, oversized records and broken pcapng blocks are format errors', () => {
  const cases: Array<[string, Buffer]> = [
    ['bad magic', Buffer.from('hello world, not a capture at all')],
    ['empty', Buffer.alloc(0)],
    ['caplen over the limit', (() => { const f = pcapFile([{ sec: 1, usec: 0, data: eth }]); f.writeUInt32LE(0x7fffffff, 24 + 8); return f })()],
    ['block length not a multiple of 4', (() => { const f = Buffer.concat([shb(), idb(1)]); f.writeUInt32LE(29, 28 + 4); return f })()],
    ['trailing length mismatch', (() => { const f = Buffer.concat([shb(), idb(1)]); f.writeUInt32LE(99, f.length - 4); return f })()],
    ['packet on an undeclared interface', Buffer.concat([shb(), idb(1), epb(3, 0n, eth)])],
    ['captured length beyond its block', (() => { const b = epb(0, 0n, eth); b.writeUInt32LE(5000, 20); return Buffer.concat([shb(), idb(1), b]) })()]
  ]
  for (const [name, buf] of cases) {
    const err = formatError(() => readAll(buf))
    assert.equal(err.code, 'TOPOFLOW_ERR_PCAP_FORMAT', name)
    assert.equal(typeof err.context.byteOffset, 'number', name)
  }
})

test('buffering is bounded: pushing past maxBuffered without reading is refused', () => {
  const r = new PcapStreamReader({ maxBuffered: 1000 })
  r.push(Buffer.alloc(600))
  assert.throws(() => r.push(Buffer.alloc(600)), (e: unknown) => TopoflowError.is(e) && e.code === 'TOPOFLOW_ERR_BACKPRESSURE')
})
