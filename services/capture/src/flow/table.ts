import { communityId, icmpPorts } from './community-id.ts'
import { compareRange, formatIPv4, formatIPv6 } from './decode/bytes.ts'
import { layersPath } from './decode/layers.ts'
import {
  TCP_ACK, TCP_FIN, TCP_RST, TCP_SYN, TRANSPORT_SCTP, TRANSPORT_TCP, TRANSPORT_UDP, TUNNEL_GENEVE, TUNNEL_VXLAN,
  type DecodedPacket, type Segment
} from './decode/packet.ts'
import { hex64, StreamingXXH64, xxh64Into } from './xxhash64.ts'
import {
  FinishType, icmpTypeValue,
  type Flow, type FinishTypeValue, type FlowEmitReason, type FlowMetric, type FlowProtocol, type ICMPLayer, type ICMPType,
  type LayerKeyMode, type TCPMetric
} from './types.ts'

/**
 * Skydive's flow table (flow/table.go, flow/flow.go), driven by packet timestamps instead of a
 * wall clock so that replaying a capture always yields the same flows.
 *
 * Keys: Skydive hashes (XXH64) the direction-normalized network, transport, ICMP and link
 * endpoints plus the parent flow's UUID. Per packet, this table writes the same endpoints, packed
 * without Skydive's padding, and finds them through an open-addressing index (a cheap 32-bit
 * hash) over per-slot typed arrays of key bytes; Skydive's own key bytes and the XXH64 digests
 * it exposes (`TrackingID`, `L3TrackingID`, `UUID`) are computed once, when the flow is created.
 * Addresses and the Community ID are kept as numbers and only turned into text when the flow is
 * emitted: a flow in the table holds no strings but its IDs (1M active flows must fit in 1 GiB).
 *
 * Deliberate differences from Skydive, each because Skydive's behaviour loses or skews data:
 * - every flow leaves the table through one final emission (reason 'expire' or 'flush'),
 *   including flows already finished by FIN/RST (Skydive drops those silently on expiry);
 * - `FinishType` is set by the first FIN or RST seen in the flow, not only by the packet that
 *   created it; TCPMetric keeps the first SYN, FIN and RST of each direction;
 * - idle expiry is checked at each update tick against `expire` seconds of idleness (Skydive
 *   expires on its own ticker, so after one to two `expire` periods);
 * - flows between equal IP addresses take their direction from the ports (Skydive compares the
 *   first packet's port with `>`), and in L3 mode a flow without IP (ARP) is counted by its MACs
 *   (Skydive counts nothing);
 * - IPv4/IPv6 fragments: the first fragment is decoded to its transport header, later fragments
 *   are added to the first fragment's flow by (addresses, protocol, IP ID); Skydive without
 *   defragmentation keys every fragment by IP addresses only ('…/IPv4/Fragment');
 * - MPLS: the level ends after the bottom-of-stack label (Skydive ends it at each label);
 * - no-link captures count the IPv6 total length (40 + payload) where Skydive counts the payload
 *   length; Linux SLL is left out of LayersPath without Skydive's leading '/'.
 */

export interface FlowTableOptions {
  /** Seconds between updates (Skydive `flow.update`, 60). */
  updateSeconds?: number
  /** Seconds of idleness after which a flow expires (`flow.expire`, 600). */
  expireSeconds?: number
  /** Flows kept at most; the least recently seen one is dropped and counted (`flow.max_entries`). */
  maxEntries?: number
  layerKeyMode?: LayerKeyMode
  /** Fill TCPMetric (Skydive's ExtraTCPMetric capture option). */
  extraTcpMetric?: boolean
  nodeTID?: string
  captureID?: string
  /** One packet in N was captured (sFlow); written on each flow. */
  samplingRate?: number
  /** Application name → seconds of idleness after which it is finished (`flow.application_timeout`). */
  applicationTimeout?: Record<string, number>
  /** Port → Application name (`flow.application_ports`). */
  applicationPorts?: { tcp?: Record<number, string>, udp?: Record<number, string> }
  /** Seconds a FIN/RST-finished flow stays after its last packet (Skydive's HoldTimeout, 15). */
  holdSeconds?: number
  communityIdSeed?: number
  /** Fragmented datagrams remembered to attribute their later fragments. */
  maxFragments?: number
  /** Receives flows: periodic updates, and each flow's final state ('expire' or 'flush'). */
  onFlows?: (flows: Flow[], reason: FlowEmitReason) => void
}

export interface FlowTableCounters {
  packets: number
  flowsCreated: number
  /** Flows evicted because the table was full (Skydive's Stats.FlowDropped). */
  flowsDropped: number
  flowsExpired: number
  fragmentsAttributed: number
  fragmentsUnattributed: number
}

const TICK_NONE = -1
/** Bytes per slot for a key: its length, then at most 63 bytes (the longest key is 61). */
const KEY_STRIDE = 64

/**
 * One flow. Fields that every packet reads or writes come first, so that they share the first
 * cache lines of the object; times are milliseconds since the table's first packet, small
 * integers that V8 stores in the object itself rather than in a separate number box.
 */
class FlowEntry {
  /** Index of the flow in the table's per-slot arrays (key bytes, LRU links). */
  slot: number
  hash: number
  last0 = 0
  abPackets = 0
  abBytes = 0
  baPackets = 0
  baBytes = 0
  updated = false
  alive = true
  hasLink = false
  /** Source (A) and destination (B) MACs of the first packet, as int32 halves. */
  aMacHi = 0
  aMacLo = 0
  networkProtocol: FlowProtocol | '' = ''
  aIpLen = 0
  /** Source (A) and destination (B) IPs of the first packet, as big-endian int32 words (one for IPv4). */
  aIp0 = 0
  aIp1 = 0
  aIp2 = 0
  aIp3 = 0
  transportProtocol: FlowProtocol | '' = ''
  transportA = 0
  rttSec = -1
  rttNsec = 0
  finishType: FinishTypeValue = FinishType.NOT_FINISHED
  tcp: TCPMetric | undefined = undefined

  id: number
  start0 = 0
  bMacHi = 0
  bMacLo = 0
  bIp0 = 0
  bIp1 = 0
  bIp2 = 0
  bIp3 = 0
  transportB = 0
  rtt = 0

  uuid = ''
  trackingId = ''
  l3TrackingId = ''
  parentUUID = ''
  layersPath = ''
  application = ''
  linkId = 0
  networkId = 0

  icmpType: ICMPType | '' = ''
  icmpCode = 0
  icmpId = 0

  lastAbPackets = 0
  lastAbBytes = 0
  lastBaPackets = 0
  lastBaBytes = 0
  lum: FlowMetric | undefined = undefined

  /** Community ID inputs (protocol < 0: no Community ID; ports < 0: none). */
  cidProto = -1
  cidSport = -1
  cidDport = -1
  cidOneWay = false

  constructor (slot: number, hash: number, id: number) {
    this.slot = slot
    this.hash = hash
    this.id = id
  }
}

export class FlowTable {
  readonly updateMs: number
  readonly expireMs: number
  readonly holdMs: number
  readonly maxEntries: number
  readonly layerKeyMode: LayerKeyMode
  readonly extraTcpMetric: boolean
  readonly nodeTID: string
  readonly captureID: string
  readonly samplingRate: number
  readonly counters: FlowTableCounters = { packets: 0, flowsCreated: 0, flowsDropped: 0, flowsExpired: 0, fragmentsAttributed: 0, fragmentsUnattributed: 0 }

  #onFlows: (flows: Flow[], reason: FlowEmitReason) => void
  #appTimeoutMs: Map<string, number>
  #tcpApps: Map<number, string>
  #udpApps: Map<number, string>
  #cidSeed: number
  #maxFragments: number

  // Flows live in numbered slots. Per slot, typed arrays hold what every packet touches, compact
  // and close together: the key bytes (the lookup compares them without touching the flow
  // object) and the LRU links; an open-addressing index maps key hashes to slots.
  #entries: Array<FlowEntry | undefined> = []
  #capacity = 0
  #slotsUsed = 0
  #freeSlots: number[] = []
  #keys = new Uint8Array(0)
  #prev = new Int32Array(0)
  #next = new Int32Array(0)
  /** slot + 1 per position (0: empty), and the hash stored there. */
  #index = new Int32Array(0)
  #indexHash = new Int32Array(0)
  #indexMask = 0
  #size = 0
  #head = -1 // most recently seen
  #tail = -1
  #nextId = 1
  #lastUpdate = TICK_NONE
  /** Time (ms) of the first packet: flow times are kept relative to it. */
  #epoch = 0
  #hasEpoch = false
  #fragments = new Map<string, { entry: FlowEntry, at: number }>()

  // Per-packet scratch space.
  #kbuf = new Uint8Array(512)
  /** Skydive's key bytes of a flow being created. */
  #hbuf = new Uint8Array(512)
  #uuidInput: Uint8Array
  #addrA = new Uint8Array(16)
  #addrB = new Uint8Array(16)
  #addrA4 = this.#addrA.subarray(0, 4)
  #addrB4 = this.#addrB.subarray(0, 4)
  #digest = new Uint32Array(2)
  #hasher = new StreamingXXH64()
  #keyLen = 0
  #l3Len = 0
  #l2Len = 0
  #swap = false
  #useLink = false

  constructor (opts: FlowTableOptions = {}) {
    this.updateMs = (opts.updateSeconds ?? 60) * 1000
    this.expireMs = (opts.expireSeconds ?? 600) * 1000
    this.holdMs = (opts.holdSeconds ?? 15) * 1000
    this.maxEntries = Math.max(1, opts.maxEntries ?? 500000)
    this.layerKeyMode = opts.layerKeyMode ?? 'L2'
    this.extraTcpMetric = opts.extraTcpMetric ?? false
    this.nodeTID = opts.nodeTID ?? ''
    this.captureID = opts.captureID ?? ''
    this.samplingRate = opts.samplingRate ?? 1
    this.#onFlows = opts.onFlows ?? (() => {})
    this.#appTimeoutMs = new Map(Object.entries(opts.applicationTimeout ?? { ARP: 10, DNS: 10 }).map(([k, v]) => [k.toUpperCase(), v * 1000]))
    this.#tcpApps = new Map(Object.entries(opts.applicationPorts?.tcp ?? {}).map(([k, v]) => [Number(k), v.toUpperCase()]))
    this.#udpApps = new Map(Object.entries(opts.applicationPorts?.udp ?? {}).map(([k, v]) => [Number(k), v.toUpperCase()]))
    this.#cidSeed = opts.communityIdSeed ?? 0
    this.#maxFragments = opts.maxFragments ?? 4096
    // UUID input: big-endian Start (ms), then the NodeTID.
    const tid = Buffer.from(this.nodeTID, 'utf8')
    this.#uuidInput = new Uint8Array(8 + tid.length)
    this.#uuidInput.set(tid, 8)
  }

  /** Flows in the table. */
  get size (): number { return this.#size }

  /**
   * Accounts one decoded packet seen at `tsSec`+`tsNsec`: each encapsulation level updates its
   * flow, whose UUID is the parent of the next level's flow. Runs the update/expiry tick first
   * when the packet's time has reached it.
   */
  processPacket (pkt: DecodedPacket, tsSec: number, tsNsec: number): void {
    const now = tsSec * 1000 + Math.floor(tsNsec / 1e6)
    if (!this.#hasEpoch) { this.#epoch = now; this.#hasEpoch = true }
    this.tick(now)
    this.counters.packets++
    let parent: FlowEntry | undefined
    for (let i = 0; i < pkt.segmentCount; i++) {
      const seg = pkt.segments[i] as Segment
      const entry = seg.laterFragment ? this.#laterFragment(pkt, seg, parent, now, tsSec, tsNsec) : this.#packetToFlow(pkt, seg, parent, now, tsSec, tsNsec)
      if (entry === undefined) return
      parent = entry
    }
  }

  /** Runs the periodic work due at `now` (epoch ms): idle expiry, then the update of changed flows. */
  tick (now: number): void {
    if (this.#lastUpdate === TICK_NONE) { this.#lastUpdate = now; return }
    if (now - this.#lastUpdate < this.updateMs) return
    // Ticks are aligned on the first packet; idle periods in between only zero metrics.
    const updateTime = this.#lastUpdate + Math.floor((now - this.#lastUpdate) / this.updateMs) * this.updateMs
    this.#expire(updateTime)
    this.#update(this.#lastUpdate, updateTime)
    this.#lastUpdate = updateTime
  }

  /** Emits every flow left (reason 'flush', FinishType TIMEOUT if not finished) and empties the table. */
  flush (): void {
    const out: Flow[] = []
    for (let e = this.#entryAt(this.#tail); e !== undefined; e = this.#entryAt(this.#prev[e.slot] as number)) {
      if (e.updated) this.#updateMetric(e, this.#lastUpdate, this.#epoch + e.last0)
      if (e.finishType === FinishType.NOT_FINISHED) e.finishType = FinishType.TIMEOUT
      out.push(this.#toFlow(e))
      e.alive = false
    }
    this.#entries.fill(undefined)
    this.#index.fill(0)
    this.#freeSlots = []
    this.#slotsUsed = 0
    this.#fragments.clear()
    this.#head = this.#tail = -1
    this.#size = 0
    if (out.length > 0) this.#onFlows(out, 'flush')
  }

  /** Current flows, as they would be emitted now (for live queries). */
  snapshot (): Flow[] {
    const out: Flow[] = []
    for (let e = this.#entryAt(this.#head); e !== undefined; e = this.#entryAt(this.#next[e.slot] as number)) out.push(this.#toFlow(e))
    return out
  }

  // ---- per packet --------------------------------------------------------------------------

  #packetToFlow (pkt: DecodedPacket, seg: Segment, parent: FlowEntry | undefined, now: number, tsSec: number, tsNsec: number): FlowEntry {
    const d = pkt.data
    this.#buildKey(d, seg, parent === undefined ? 0 : parent.id)
    const hash = hashBytes(this.#kbuf, this.#keyLen)
    let entry = this.#lookup(hash)
    if (entry === undefined) {
      entry = this.#create(pkt, seg, hash, parent, now, tsSec, tsNsec)
    } else {
      this.#touch(entry)
      this.#update1(entry, pkt, seg, now, tsSec, tsNsec)
    }
    entry.updated = true
    if (seg.firstFragment && seg.ipVersion !== 0) this.#rememberFragment(d, seg, entry, now)
    return entry
  }

  #laterFragment (pkt: DecodedPacket, seg: Segment, parent: FlowEntry | undefined, now: number, tsSec: number, tsNsec: number): FlowEntry {
    const known = this.#fragments.get(fragmentKey(pkt.data, seg))
    if (known !== undefined && known.entry.alive && now - known.at < 30000) {
      this.counters.fragmentsAttributed++
      known.at = now
      this.#touch(known.entry)
      this.#update1(known.entry, pkt, seg, now, tsSec, tsNsec)
      known.entry.updated = true
      return known.entry
    }
    this.counters.fragmentsUnattributed++
    return this.#packetToFlow(pkt, seg, parent, now, tsSec, tsNsec)
  }

  #rememberFragment (d: Uint8Array, seg: Segment, entry: FlowEntry, now: number): void {
    const key = fragmentKey(d, seg)
    this.#fragments.delete(key)
    this.#fragments.set(key, { entry, at: now })
    if (this.#fragments.size > this.#maxFragments) {
      const oldest = this.#fragments.keys().next()
      if (oldest.done !== true) this.#fragments.delete(oldest.value)
    }
  }

  /**
   * Writes the lookup key of a packet's level into #kbuf: which parts follow (structure byte, IP
   * version, transport kind), then the direction-normalized endpoints Skydive keys on (flow/flow.go
   * Packet.Keys): network, transport (VNI and destination port for VXLAN/Geneve), ICMP, then link
   * in L2 mode or without IP; then the parent's internal id. The parts' lengths follow from the
   * first three bytes, so two keys are equal exactly when Skydive's keys are.
   */
  #buildKey (d: Uint8Array, seg: Segment, parentId: number): void {
    const k = this.#kbuf
    const hasNet = seg.ipVersion !== 0
    const useLink = seg.hasEthernet && (this.layerKeyMode === 'L2' || !hasNet)
    const ipLen = seg.ipVersion === 4 ? 4 : 16
    const srcIp = seg.ipOffset + (seg.ipVersion === 4 ? 12 : 8)
    const dstIp = srcIp + ipLen
    const dstMac = seg.ethOffset
    const srcMac = seg.ethOffset + 6
    const vxlanLike = seg.transport === TRANSPORT_UDP && (seg.tunnel === TUNNEL_VXLAN || seg.tunnel === TUNNEL_GENEVE)

    let swap = false
    let fromNetwork = true
    if (useLink || !hasNet) {
      fromNetwork = false
      const cmp = compareRange(d, srcMac, d, dstMac, 6)
      swap = cmp > 0
      if (cmp === 0 && hasNet) fromNetwork = true
    }
    if (fromNetwork && hasNet) {
      const cmp = compareRange(d, srcIp, d, dstIp, ipLen)
      swap = cmp > 0
      if (cmp === 0 && seg.transport !== 0) {
        if (vxlanLike) {
          // bytes.Compare(VNI as 4 bytes, port as 2 bytes)
          const a0 = seg.tunnelId >>> 16; const b0 = seg.dstPort
          swap = a0 !== b0 ? a0 > b0 : true
        } else swap = seg.srcPort > seg.dstPort
      }
    }
    this.#swap = swap
    this.#useLink = useLink

    let o = 0
    k[o++] = (hasNet ? 1 : 0) | (seg.transport !== 0 && hasNet ? 2 : 0) | (seg.icmpVersion !== 0 ? 4 : 0) | (useLink ? 8 : 0)
    k[o++] = seg.ipVersion
    k[o++] = seg.transport === 0 ? 0 : vxlanLike ? 7 : seg.transport === TRANSPORT_TCP ? 4 : seg.transport === TRANSPORT_UDP ? 5 : 6
    if (hasNet) {
      o = copy(k, o, d, swap ? dstIp : srcIp, ipLen)
      o = copy(k, o, d, swap ? srcIp : dstIp, ipLen)
    }
    if (seg.transport !== 0) {
      if (vxlanLike) {
        o = writeU32(k, o, seg.tunnelId)
        k[o++] = seg.dstPort >>> 8; k[o++] = seg.dstPort & 0xff
      } else {
        const a = swap ? seg.dstPort : seg.srcPort
        const b = swap ? seg.srcPort : seg.dstPort
        k[o++] = a >>> 8; k[o++] = a & 0xff; k[o++] = b >>> 8; k[o++] = b & 0xff
      }
    }
    if (seg.icmpVersion !== 0) o = writeU32(k, o, icmpKeyValue(seg))
    if (useLink) {
      o = copy(k, o, d, swap ? dstMac : srcMac, 6)
      o = copy(k, o, d, swap ? srcMac : dstMac, 6)
    }
    this.#keyLen = writeU32(k, o, parentId)
  }

  /**
   * Skydive's key bytes (flow/flow.go Packet.Keys) of the level #buildKey just keyed, into #hbuf:
   * the same endpoints, each part followed by gopacket's endpoint type as 8 bytes; #l3Len and
   * #l2Len mark where Skydive reads its L3 and L2 hashes.
   */
  #buildSkydiveKey (d: Uint8Array, seg: Segment): void {
    const k = this.#hbuf
    const swap = this.#swap
    const hasNet = seg.ipVersion !== 0
    const ipLen = seg.ipVersion === 4 ? 4 : 16
    const srcIp = seg.ipOffset + (seg.ipVersion === 4 ? 12 : 8)
    const dstIp = srcIp + ipLen
    const dstMac = seg.ethOffset
    const srcMac = seg.ethOffset + 6
    const vxlanLike = seg.transport === TRANSPORT_UDP && (seg.tunnel === TUNNEL_VXLAN || seg.tunnel === TUNNEL_GENEVE)
    let o = 0
    if (hasNet) {
      o = copy(k, o, d, swap ? dstIp : srcIp, ipLen)
      o = copy(k, o, d, swap ? srcIp : dstIp, ipLen)
      o = writeU64(k, o, seg.ipVersion === 4 ? 1 : 2)
    }
    if (seg.transport !== 0) {
      if (vxlanLike) {
        o = writeU32(k, o, seg.tunnelId)
        k[o++] = seg.dstPort >>> 8; k[o++] = seg.dstPort & 0xff
        o = writeU64(k, o, 0)
      } else {
        const a = swap ? seg.dstPort : seg.srcPort
        const b = swap ? seg.srcPort : seg.dstPort
        k[o++] = a >>> 8; k[o++] = a & 0xff; k[o++] = b >>> 8; k[o++] = b & 0xff
        o = writeU64(k, o, seg.transport === TRANSPORT_TCP ? 4 : seg.transport === TRANSPORT_UDP ? 5 : 6)
      }
    }
    if (seg.icmpVersion !== 0) {
      o = writeU32(k, o, icmpKeyValue(seg))
      o = writeU64(k, o, 0)
    }
    this.#l3Len = o
    if (this.#useLink) {
      o = copy(k, o, d, swap ? dstMac : srcMac, 6)
      o = copy(k, o, d, swap ? srcMac : dstMac, 6)
      o = writeU64(k, o, 3)
    }
    this.#l2Len = o
  }

  #entryAt (slot: number): FlowEntry | undefined {
    return slot < 0 ? undefined : this.#entries[slot]
  }

  /** The flow whose key bytes equal #kbuf[0, #keyLen), by linear probing from its hash. */
  #lookup (hash: number): FlowEntry | undefined {
    const index = this.#index
    const hashes = this.#indexHash
    const mask = this.#indexMask
    if (mask === 0) return undefined
    const k = this.#kbuf; const n = this.#keyLen
    const keys = this.#keys
    for (let i = hash & mask; ; i = (i + 1) & mask) {
      const v = index[i] as number
      if (v === 0) return undefined
      if (hashes[i] !== hash) continue
      const base = (v - 1) * KEY_STRIDE
      if (keys[base] !== n) continue
      let j = 0
      while (j < n && keys[base + 1 + j] === k[j]) j++
      if (j === n) return this.#entries[v - 1]
    }
  }

  /** A free slot, the arrays grown (doubled) when every slot is taken. */
  #takeSlot (): number {
    const free = this.#freeSlots.pop()
    if (free !== undefined) return free
    if (this.#slotsUsed === this.#capacity) this.#grow(Math.max(1024, this.#capacity * 2))
    return this.#slotsUsed++
  }

  #grow (capacity: number): void {
    const keys = new Uint8Array(capacity * KEY_STRIDE); keys.set(this.#keys); this.#keys = keys
    const prev = new Int32Array(capacity); prev.set(this.#prev); this.#prev = prev
    const next = new Int32Array(capacity); next.set(this.#next); this.#next = next
    this.#capacity = capacity
    // The index stays at most half full: rebuild it at twice the new capacity.
    let size = 1
    while (size < capacity * 2) size *= 2
    this.#index = new Int32Array(size)
    this.#indexHash = new Int32Array(size)
    this.#indexMask = size - 1
    for (const e of this.#entries) if (e !== undefined) this.#indexInsert(e.slot, e.hash)
  }

  #indexInsert (slot: number, hash: number): void {
    const index = this.#index
    const mask = this.#indexMask
    let i = hash & mask
    while (index[i] !== 0) i = (i + 1) & mask
    index[i] = slot + 1
    this.#indexHash[i] = hash
  }

  /** Removes a slot from the index, shifting later entries of its probe run back (no tombstones). */
  #indexRemove (slot: number, hash: number): void {
    const index = this.#index
    const hashes = this.#indexHash
    const mask = this.#indexMask
    let i = hash & mask
    while (index[i] !== slot + 1) {
      if (index[i] === 0) return
      i = (i + 1) & mask
    }
    for (let j = (i + 1) & mask; index[j] !== 0; j = (j + 1) & mask) {
      const home = (hashes[j] as number) & mask
      // The entry at j stays when its home lies cyclically in (i, j].
      if (i <= j ? (i < home && home <= j) : (i < home || home <= j)) continue
      index[i] = index[j] as number
      hashes[i] = hashes[j] as number
      i = j
    }
    index[i] = 0
  }

  #create (pkt: DecodedPacket, seg: Segment, hash: number, parent: FlowEntry | undefined, now: number, tsSec: number, tsNsec: number): FlowEntry {
    const d = pkt.data
    const k = this.#kbuf
    if (this.#keyLen >= KEY_STRIDE) throw new RangeError(`flow key of ${this.#keyLen} bytes`) // cannot happen: 61 at most
    const slot = this.#takeSlot()
    const e = new FlowEntry(slot, hash, this.#nextId++)
    const base = slot * KEY_STRIDE
    this.#keys[base] = this.#keyLen
    this.#keys.set(k.subarray(0, this.#keyLen), base + 1)
    if (this.#nextId > 0xffffffff) this.#nextId = 1
    e.start0 = now - this.#epoch
    e.last0 = e.start0
    e.parentUUID = parent === undefined ? '' : parent.uuid

    if (seg.hasEthernet) {
      e.hasLink = true
      e.linkId = seg.linkId()
      e.aMacHi = macHi(d, seg.ethOffset + 6)
      e.aMacLo = macLo(d, seg.ethOffset + 6)
      e.bMacHi = macHi(d, seg.ethOffset)
      e.bMacLo = macLo(d, seg.ethOffset)
    }
    const lp = knownLayersPath(seg.layers, seg.layerCount)
    e.layersPath = lp.path
    e.application = lp.application

    let cidProto = -1; let cidSport: number | undefined; let cidDport: number | undefined; let cidOneWay = false
    if (seg.ipVersion !== 0) {
      const v4 = seg.ipVersion === 4
      const src = seg.ipOffset + (v4 ? 12 : 8)
      const dst = src + (v4 ? 4 : 16)
      e.networkProtocol = v4 ? 'IPV4' : 'IPV6'
      e.networkId = seg.tunnelId
      e.aIpLen = v4 ? 4 : 16
      e.aIp0 = i32(d, src); e.bIp0 = i32(d, dst)
      if (!v4) {
        e.aIp1 = i32(d, src + 4); e.aIp2 = i32(d, src + 8); e.aIp3 = i32(d, src + 12)
        e.bIp1 = i32(d, dst + 4); e.bIp2 = i32(d, dst + 8); e.bIp3 = i32(d, dst + 12)
      }
      cidProto = seg.ipProto
      if (seg.icmpVersion !== 0) {
        e.icmpType = icmpTypeOf(seg)
        e.icmpCode = seg.icmpCode
        e.icmpId = seg.icmpVersion === 4 || seg.icmpv6Echo ? seg.icmpId : 0
        const ports = icmpPorts(seg.icmpVersion === 4 ? 1 : 58, seg.icmpType, seg.icmpCode)
        cidProto = seg.icmpVersion === 4 ? 1 : 58
        cidSport = ports.sport; cidDport = ports.dport; cidOneWay = ports.oneWay
      }
      if (seg.transport !== 0) {
        e.transportProtocol = seg.transport === TRANSPORT_TCP ? 'TCP' : seg.transport === TRANSPORT_UDP ? 'UDP' : 'SCTP'
        e.transportA = seg.srcPort
        e.transportB = seg.dstPort
        cidProto = seg.transport
        cidSport = seg.srcPort; cidDport = seg.dstPort
        const apps = seg.transport === TRANSPORT_TCP ? this.#tcpApps : seg.transport === TRANSPORT_UDP ? this.#udpApps : undefined
        const app = apps?.get(seg.srcPort) ?? apps?.get(seg.dstPort)
        if (app !== undefined) e.application = app
        if (seg.transport === TRANSPORT_TCP) {
          if (this.extraTcpMetric) e.tcp = { ABSynStart: 0, BASynStart: 0, ABFinStart: 0, BAFinStart: 0, ABRstStart: 0, BARstStart: 0 }
        }
      }
      if (cidProto >= 0 && cidProto <= 255) {
        e.cidProto = cidProto
        e.cidSport = cidSport ?? -1
        e.cidDport = cidDport ?? -1
        e.cidOneWay = cidOneWay
      }
    }
    this.#setUUIDs(e, d, seg)

    // Link into the table; evict the least recently seen flow when full.
    this.#entries[slot] = e
    this.#indexInsert(slot, hash)
    this.#prev[slot] = -1
    this.#next[slot] = this.#head
    if (this.#head >= 0) this.#prev[this.#head] = slot
    this.#head = slot
    if (this.#tail < 0) this.#tail = slot
    this.#size++
    this.counters.flowsCreated++
    if (this.#size > this.maxEntries && this.#tail >= 0) {
      this.#remove(this.#entries[this.#tail] as FlowEntry)
      this.counters.flowsDropped++
    }
    this.#update1(e, pkt, seg, now, tsSec, tsNsec)
    return e
  }

  /**
   * TrackingID, L3TrackingID and UUID exactly as Skydive computes them: one streaming hasher
   * read at the end of the L3 part, after the link part (when there is one), and after the parent
   * UUID (see StreamingXXH64 for why the intermediate reads matter); then the UUID is XXH64
   * seeded with that key over the big-endian Start (ms) and the NodeTID.
   */
  #setUUIDs (e: FlowEntry, d: Uint8Array, seg: Segment): void {
    this.#buildSkydiveKey(d, seg)
    const k = this.#hbuf
    const out = this.#digest
    const h = this.#hasher
    let o = this.#l2Len
    for (let i = 0; i < e.parentUUID.length; i++) k[o++] = e.parentUUID.charCodeAt(i) & 0xff
    h.reset(0, 0)
    h.sum(k, this.#l3Len, out)
    e.l3TrackingId = hex64(out[0] as number, out[1] as number)
    if (this.#l2Len > this.#l3Len) h.sum(k, this.#l2Len, out)
    e.trackingId = hex64(out[0] as number, out[1] as number)
    h.sum(k, o, out)
    const keyHi = out[0] as number; const keyLo = out[1] as number
    const u = this.#uuidInput
    const start = this.#epoch + e.start0
    const hi = Math.floor(start / 4294967296)
    writeU32(u, 0, hi >>> 0)
    writeU32(u, 4, (start - hi * 4294967296) >>> 0)
    xxh64Into(u, u.length, keyHi, keyLo, out)
    e.uuid = hex64(out[0] as number, out[1] as number)
  }

  /** Skydive's Flow.Update: metrics by direction, RTT, TCP metric, finish type. */
  #update1 (e: FlowEntry, pkt: DecodedPacket, seg: Segment, now: number, tsSec: number, tsNsec: number): void {
    const d = pkt.data
    e.last0 = now - this.#epoch
    let ab: boolean
    let length: number
    if (this.layerKeyMode === 'L3') {
      length = seg.length
      if (length === 0 && seg.hasEthernet) length = 14 + seg.ethPayloadLength
      if (length === 0) length = seg.ipTotalLength
      ab = e.networkProtocol !== '' && seg.ipVersion !== 0 ? this.#isABByNetwork(e, d, seg) : this.#isABByLink(e, d, seg)
    } else if (e.hasLink && seg.hasEthernet) {
      length = seg.length > 0 ? seg.length : 14 + seg.ethPayloadLength
      ab = this.#isABByLink(e, d, seg)
    } else {
      length = seg.ipTotalLength
      ab = this.#isABByNetwork(e, d, seg)
    }
    if (ab) { e.abPackets++; e.abBytes += length } else { e.baPackets++; e.baBytes += length }

    // RTT: ICMP echo request → reply, TCP SYN → SYN-ACK (or RST).
    if (seg.icmpVersion !== 0) {
      const t = seg.icmpType
      const request = seg.icmpVersion === 4 ? t === 8 : t === 128
      const reply = seg.icmpVersion === 4 ? t === 0 : t === 129
      if (request && e.rttSec < 0) { e.rttSec = tsSec; e.rttNsec = tsNsec } else if (reply && e.rttSec >= 0) {
        e.rtt = (tsSec - e.rttSec) * 1e9 + (tsNsec - e.rttNsec)
        e.rttSec = -1
      }
    } else if (seg.transport === TRANSPORT_TCP) {
      const f = seg.tcpFlags
      if ((f & TCP_SYN) !== 0 && e.rttSec < 0) { e.rttSec = tsSec; e.rttNsec = tsNsec } else if (e.rttSec >= 0 && (((f & TCP_SYN) !== 0 && (f & TCP_ACK) !== 0) || (f & TCP_RST) !== 0)) {
        e.rtt = (tsSec - e.rttSec) * 1e9 + (tsNsec - e.rttNsec)
        e.rttSec = -1
      }
      if ((f & (TCP_FIN | TCP_RST)) !== 0 && e.finishType === FinishType.NOT_FINISHED) {
        e.finishType = (f & TCP_FIN) !== 0 ? FinishType.TCP_FIN : FinishType.TCP_RST
      }
      if (e.tcp !== undefined && (f & (TCP_SYN | TCP_FIN | TCP_RST)) !== 0 && seg.ipVersion !== 0) this.#updateTcpMetric(e, d, seg, now)
    }
  }

  #updateTcpMetric (e: FlowEntry, d: Uint8Array, seg: Segment, now: number): void {
    const m = e.tcp as TCPMetric
    const fromA = this.#isABByNetwork(e, d, seg)
    const f = seg.tcpFlags
    if ((f & TCP_SYN) !== 0) {
      if (fromA && m.ABSynStart === 0) { m.ABSynStart = now; m.ABSynTTL = seg.ttl } else if (!fromA && m.BASynStart === 0) { m.BASynStart = now; m.BASynTTL = seg.ttl }
    } else if ((f & TCP_FIN) !== 0) {
      if (fromA) { if (m.ABFinStart === 0) m.ABFinStart = now } else if (m.BAFinStart === 0) m.BAFinStart = now
    } else if ((f & TCP_RST) !== 0) {
      if (fromA) { if (m.ABRstStart === 0) m.ABRstStart = now } else if (m.BARstStart === 0) m.BARstStart = now
    }
  }

  #isABByLink (e: FlowEntry, d: Uint8Array, seg: Segment): boolean {
    if (!seg.hasEthernet) return this.#isABByNetwork(e, d, seg)
    const src = seg.ethOffset + 6
    if (compareRange(d, src, d, seg.ethOffset, 6) === 0) return this.#isABByNetwork(e, d, seg)
    return macHi(d, src) === e.aMacHi && macLo(d, src) === e.aMacLo
  }

  #isABByNetwork (e: FlowEntry, d: Uint8Array, seg: Segment): boolean {
    if (e.networkProtocol === '' || seg.ipVersion === 0) return false
    const len = seg.ipVersion === 4 ? 4 : 16
    if (len !== e.aIpLen) return false
    const src = seg.ipOffset + (seg.ipVersion === 4 ? 12 : 8)
    if (compareRange(d, src, d, src + len, len) === 0 && e.transportProtocol !== '' && seg.transport !== 0) {
      return seg.srcPort === e.transportA
    }
    if (i32(d, src) !== e.aIp0) return false
    return len === 4 || (i32(d, src + 4) === e.aIp1 && i32(d, src + 8) === e.aIp2 && i32(d, src + 12) === e.aIp3)
  }

  #touch (e: FlowEntry): void {
    const slot = e.slot
    if (this.#head === slot) return
    const prev = this.#prev; const next = this.#next
    // unlink (not the head, so it has a previous flow)
    const p = prev[slot] as number; const n = next[slot] as number
    next[p] = n
    if (n >= 0) prev[n] = p; else this.#tail = p
    // push front
    prev[slot] = -1
    next[slot] = this.#head
    prev[this.#head] = slot
    this.#head = slot
  }

  #remove (e: FlowEntry): void {
    e.alive = false
    const slot = e.slot
    const prev = this.#prev; const next = this.#next
    const p = prev[slot] as number; const n = next[slot] as number
    if (p >= 0) next[p] = n; else this.#head = n
    if (n >= 0) prev[n] = p; else this.#tail = p
    this.#indexRemove(slot, e.hash)
    this.#entries[slot] = undefined
    this.#freeSlots.push(slot)
    this.#size--
  }

  // ---- ticks -------------------------------------------------------------------------------

  #expire (now: number): void {
    const out: Flow[] = []
    for (let e = this.#entryAt(this.#tail); e !== undefined;) {
      const prev = this.#entryAt(this.#prev[e.slot] as number)
      const last = this.#epoch + e.last0
      if (now - last >= this.expireMs) {
        if (e.updated) this.#updateMetric(e, this.#lastUpdate, last)
        if (e.finishType === FinishType.NOT_FINISHED) e.finishType = FinishType.TIMEOUT
        out.push(this.#toFlow(e))
        this.#remove(e)
        this.counters.flowsExpired++
      }
      e = prev
    }
    if (out.length > 0) this.#onFlows(out, 'expire')
  }

  #update (from: number, now: number): void {
    const updated: Flow[] = []
    const finals: Flow[] = []
    for (let e = this.#entryAt(this.#tail); e !== undefined;) {
      const prev = this.#entryAt(this.#prev[e.slot] as number)
      const appTimeout = this.#appTimeoutMs.get(e.application) ?? 0
      if (e.updated) {
        this.#updateMetric(e, from, now)
        updated.push(this.#toFlow(e))
      } else if (appTimeout > 0 && now - (this.#epoch + e.last0) > appTimeout) {
        if (e.finishType === FinishType.NOT_FINISHED) e.finishType = FinishType.TIMEOUT
        finals.push(this.#toFlow(e))
        this.#remove(e)
        this.counters.flowsExpired++
        e = prev
        continue
      } else if (e.lum !== undefined) {
        e.lum.ABPackets = e.lum.ABBytes = e.lum.BAPackets = e.lum.BABytes = 0
        e.lum.Start = from
        e.lum.Last = now
      } else {
        e.lum = { ABPackets: 0, ABBytes: 0, BAPackets: 0, BABytes: 0, Start: from, Last: now }
      }
      e.updated = false
      e.lastAbPackets = e.abPackets; e.lastAbBytes = e.abBytes; e.lastBaPackets = e.baPackets; e.lastBaBytes = e.baBytes
      if (e.finishType !== FinishType.NOT_FINISHED && now - (this.#epoch + e.last0) >= this.holdMs) {
        finals.push(this.#toFlow(e))
        this.#remove(e)
      }
      e = prev
    }
    if (updated.length > 0) this.#onFlows(updated, 'update')
    if (finals.length > 0) this.#onFlows(finals, 'expire')
  }

  /** LastUpdateMetric = Metric minus its value at the previous tick, over [start, last]. */
  #updateMetric (e: FlowEntry, start: number, last: number): void {
    if (e.lum === undefined) start = this.#epoch + e.start0
    e.lum = {
      ABPackets: e.abPackets - e.lastAbPackets,
      ABBytes: e.abBytes - e.lastAbBytes,
      BAPackets: e.baPackets - e.lastBaPackets,
      BABytes: e.baBytes - e.lastBaBytes,
      Start: start,
      Last: last
    }
    if (e.rtt !== 0) e.lum.RTT = e.rtt
  }

  /** The flow as emitted, with its fields in Skydive's JSON order. */
  #toFlow (e: FlowEntry): Flow {
    const f: Partial<Flow> = { UUID: e.uuid, LayersPath: e.layersPath, Application: e.application }
    if (e.hasLink) f.Link = { Protocol: 'ETHERNET', A: macText(e.aMacHi, e.aMacLo), B: macText(e.bMacHi, e.bMacLo), ID: e.linkId }
    if (e.networkProtocol !== '') {
      f.Network = { Protocol: e.networkProtocol, A: this.#ipText(e.aIp0, e.aIp1, e.aIp2, e.aIp3, e.aIpLen), B: this.#ipText(e.bIp0, e.bIp1, e.bIp2, e.bIp3, e.aIpLen), ID: e.networkId }
    }
    if (e.transportProtocol !== '') f.Transport = { Protocol: e.transportProtocol, A: e.transportA, B: e.transportB, ID: 0 }
    if (e.icmpType !== '') {
      const icmp: ICMPLayer = { Type: e.icmpType }
      if (e.icmpCode !== 0) icmp.Code = e.icmpCode
      if (e.icmpId !== 0) icmp.ID = e.icmpId
      f.ICMP = icmp
    }
    if (e.lum !== undefined) f.LastUpdateMetric = { ...e.lum }
    const start = this.#epoch + e.start0
    const last = this.#epoch + e.last0
    const metric: FlowMetric = { ABPackets: e.abPackets, ABBytes: e.abBytes, BAPackets: e.baPackets, BABytes: e.baBytes, Start: start, Last: last }
    if (e.rtt !== 0) metric.RTT = e.rtt
    f.Metric = metric
    if (e.tcp !== undefined) {
      const t: TCPMetric = { ...e.tcp }
      if (t.ABSynTTL === 0) delete t.ABSynTTL
      if (t.BASynTTL === 0) delete t.BASynTTL
      f.TCPMetric = t
    }
    f.Start = start
    f.Last = last
    f.TrackingID = e.trackingId
    f.L3TrackingID = e.l3TrackingId
    f.ParentUUID = e.parentUUID
    if (this.nodeTID !== '') f.NodeTID = this.nodeTID
    if (this.captureID !== '') f.CaptureID = this.captureID
    f.RawPacketsCaptured = 0
    if (e.finishType !== FinishType.NOT_FINISHED) f.FinishType = e.finishType
    if (e.cidProto >= 0) f.CommunityID = this.#communityId(e)
    f.SamplingRate = this.samplingRate
    return f as Flow
  }

  #ipText (w0: number, w1: number, w2: number, w3: number, len: number): string {
    const b = this.#addrA
    putI32(b, 0, w0)
    if (len === 4) return formatIPv4(b, 0)
    putI32(b, 4, w1); putI32(b, 8, w2); putI32(b, 12, w3)
    return formatIPv6(b, 0)
  }

  #communityId (e: FlowEntry): string {
    const v4 = e.aIpLen === 4
    const a = v4 ? this.#addrA4 : this.#addrA
    const b = v4 ? this.#addrB4 : this.#addrB
    putI32(a, 0, e.aIp0); putI32(b, 0, e.bIp0)
    if (!v4) {
      putI32(a, 4, e.aIp1); putI32(a, 8, e.aIp2); putI32(a, 12, e.aIp3)
      putI32(b, 4, e.bIp1); putI32(b, 8, e.bIp2); putI32(b, 12, e.bIp3)
    }
    return communityId({
      proto: e.cidProto,
      saddr: a,
      daddr: b,
      sport: e.cidSport < 0 ? undefined : e.cidSport,
      dport: e.cidDport < 0 ? undefined : e.cidDport,
      oneWay: e.cidOneWay,
      seed: this.#cidSeed
    })
  }
}

// ---- helpers -----------------------------------------------------------------------------

/** Skydive's ICMPType for a decoded ICMP header (flow/icmp.go). */
function icmpTypeOf (seg: Segment): ICMPType {
  const t = seg.icmpType
  if (seg.icmpVersion === 4) {
    switch (t) {
      case 0: case 8: return 'ECHO'
      case 17: case 18: return 'ADDRESS_MASK'
      case 3: return 'DESTINATION_UNREACHABLE'
      case 15: case 16: return 'INFO'
      case 12: return 'PARAMETER_PROBLEM'
      case 5: return 'REDIRECT'
      case 9: case 10: return 'ROUTER'
      case 4: return 'SOURCE_QUENCH'
      case 11: return 'TIME_EXCEEDED'
      case 13: case 14: return 'TIMESTAMP'
      default: return 'UNKNOWN'
    }
  }
  switch (t) {
    case 128: case 129: return 'ECHO'
    case 135: case 136: return 'NEIGHBOR'
    case 1: return 'DESTINATION_UNREACHABLE'
    case 2: return 'PACKET_TOO_BIG'
    case 4: return 'PARAMETER_PROBLEM'
    case 137: return 'REDIRECT'
    case 133: case 134: return 'ROUTER'
    case 3: return 'TIME_EXCEEDED'
    default: return 'UNKNOWN'
  }
}

/** The 32-bit ICMP value Skydive hashes (Packet.ApplicationFlow). */
function icmpKeyValue (seg: Segment): number {
  const t = icmpTypeValue[icmpTypeOf(seg)]
  if (seg.icmpVersion === 4) return ((t << 24) | (seg.icmpCode << 16) | seg.icmpId) >>> 0
  if (seg.icmpv6Echo) return ((icmpTypeValue.ECHO << 24) | seg.icmpId) >>> 0
  return ((t << 24) | (seg.icmpCode << 16)) >>> 0
}

function fragmentKey (d: Uint8Array, seg: Segment): string {
  const len = seg.ipVersion === 4 ? 8 : 32
  const src = seg.ipOffset + (seg.ipVersion === 4 ? 12 : 8)
  let s = `${seg.ipVersion}:${seg.ipProto}:${seg.ipId}:`
  for (let i = 0; i < len; i++) s += String.fromCharCode(d[src + i] as number)
  return s
}

function copy (k: Uint8Array, o: number, d: Uint8Array, from: number, n: number): number {
  for (let i = 0; i < n; i++) k[o + i] = d[from + i] as number
  return o + n
}

function writeU32 (k: Uint8Array, o: number, v: number): number {
  k[o] = v >>> 24; k[o + 1] = (v >>> 16) & 0xff; k[o + 2] = (v >>> 8) & 0xff; k[o + 3] = v & 0xff
  return o + 4
}

/** A small non-negative integer as 8 big-endian bytes. */
function writeU64 (k: Uint8Array, o: number, v: number): number {
  k[o] = 0; k[o + 1] = 0; k[o + 2] = 0; k[o + 3] = 0
  return writeU32(k, o + 4, v)
}

/** Big-endian int32 (signed, so that V8 keeps it a small integer). */
function i32 (d: Uint8Array, i: number): number {
  return ((d[i] as number) << 24) | ((d[i + 1] as number) << 16) | ((d[i + 2] as number) << 8) | (d[i + 3] as number)
}

function putI32 (d: Uint8Array, i: number, v: number): void {
  d[i] = v >>> 24; d[i + 1] = (v >>> 16) & 0xff; d[i + 2] = (v >>> 8) & 0xff; d[i + 3] = v & 0xff
}

function macHi (d: Uint8Array, i: number): number {
  return i32(d, i)
}

const hexChars = Buffer.from('0123456789abcdef', 'latin1')
const macOut = Buffer.from('00:00:00:00:00:00', 'latin1')

/** `aa:bb:cc:dd:ee:ff` of a MAC kept as macHi/macLo, as one flat string. */
function macText (hi: number, lo: number): string {
  for (let i = 0; i < 6; i++) {
    const b = i < 4 ? (hi >>> (24 - 8 * i)) & 0xff : (lo >>> (40 - 8 * i)) & 0xff
    macOut[i * 3] = hexChars[b >>> 4] as number
    macOut[i * 3 + 1] = hexChars[b & 15] as number
  }
  return macOut.toString('latin1')
}

function macLo (d: Uint8Array, i: number): number {
  return ((d[i + 4] as number) << 8) | (d[i + 5] as number)
}

/** FNV-1a-like 32-bit hash with a final avalanche; only used to find the bucket. */
function hashBytes (k: Uint8Array, n: number): number {
  let h = 0x811c9dc5
  for (let i = 0; i < n; i++) h = Math.imul(h ^ (k[i] as number), 0x01000193)
  h ^= h >>> 16
  h = Math.imul(h, 0x85ebca6b)
  h ^= h >>> 13
  return h | 0
}


interface KnownLayers { ids: Uint8Array, path: string, application: string }
const knownLayers = new Map<number, KnownLayers[]>()

/** LayersPath and Application of a layer sequence seen before, without building strings again. */
function knownLayersPath (ids: Uint8Array, count: number): KnownLayers {
  let h = count
  for (let i = 0; i < count; i++) h = Math.imul(h ^ (ids[i] as number), 0x01000193)
  h |= 0
  const seen = knownLayers.get(h)
  if (seen !== undefined) {
    for (const k of seen) {
      if (k.ids.length !== count) continue
      let i = 0
      while (i < count && k.ids[i] === ids[i]) i++
      if (i === count) return k
    }
  }
  const lp = layersPath(ids, count)
  const known: KnownLayers = { ids: ids.slice(0, count), path: intern(lp.path), application: intern(lp.application) }
  if (knownLayers.size < 10000) {
    if (seen !== undefined) seen.push(known); else knownLayers.set(h, [known])
  }
  return known
}

const interned = new Map<string, string>()
function intern (s: string): string {
  const v = interned.get(s)
  if (v !== undefined) return v
  if (interned.size < 10000) interned.set(s, s)
  return s
}

