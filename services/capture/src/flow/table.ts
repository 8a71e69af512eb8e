import { TopoflowError } from '@topoflow/core/errors'
import { communityId, icmpPorts } from './community-id.ts'
import { compareRange, formatIPv4, formatIPv6 } from './decode/bytes.ts'
import { layersPath } from './decode/layers.ts'
import {
  TCP_ACK, TCP_FIN, TCP_RST, TCP_SYN, TRANSPORT_SCTP, TRANSPORT_TCP, TRANSPORT_UDP, TUNNEL_GENEVE, TUNNEL_VXLAN,
  type DecodedPacket, type Segment
} from './decode/packet.ts'
import { hex64, hex64Into, StreamingXXH64, xxh64Into } from './xxhash64.ts'
import {
  FinishType, icmpTypes, icmpTypeValue,
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
 * hash) over per-slot records in typed arrays; Skydive's own key bytes and the XXH64 digests it
 * exposes (`TrackingID`, `L3TrackingID`, `UUID`) are computed once, when the flow is created.
 * Digests, addresses and the Community ID are kept as numbers and only turned into text when the
 * flow is emitted: a flow in the table is no object and holds no string of its own (1M active
 * flows must fit in 1 GiB; the garbage collector has nothing to walk).
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
 * - packet times that go backwards (merged captures, clock steps) never make `Last` earlier than
 *   a time already seen, nor an RTT negative (Skydive writes the packet's time as it comes);
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
  /**
   * Build the periodic 'update' emissions (default true). A reader that keeps only each flow's
   * final state turns it off: the table then does the same work but builds no flow for updates.
   */
  emitUpdates?: boolean
  /** Receives flows: periodic updates, and each flow's final state ('expire' or 'flush'). */
  onFlows?: (flows: Flow[], reason: FlowEmitReason) => void
  /**
   * Only count (`topoflow pcap --summary`): flows are tracked, updated, expired and evicted as
   * usual, but none is built or handed over (onFlows is not called), and the four XXH64 digests
   * behind a flow's TrackingID, L3TrackingID and UUID are not computed. No snapshot() either.
   */
  countOnly?: boolean
  /** Recency stamps given before they are renumbered (default and at most 2^30; tests lower it). */
  stampLimit?: number
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
/** Flows per onFlows call when many leave at once: each batch can be consumed and forgotten before the next is built. */
const EMIT_BATCH = 4096
/** 32-bit words of a key: at most 16 (see #buildKey). */
const KEY_WORDS = 16
/** Packets per processPackets call, at most. */
export const BATCH_MAX = 64

// A flow is a slot number, and its state lives in per-slot typed arrays rather than in an object
// per flow: the garbage collector has nothing to trace or move however many flows the table
// holds. What a packet reads and writes (key, counters, flags, when it was last seen) is one
// 128-byte record, two adjacent cache lines; the rest, read when a flow is created or emitted,
// is apart. Recency is a stamp in the record rather than a linked list, so that a packet writes
// only its own flow's record (moving a flow to the front of a list writes two other, random
// records); the least-recently-seen order is made by sorting stamps when it is needed: at
// update ticks, at the end, and when the table is full.

// Record of a slot, as int32 words and float64 doubles over the same bytes.
const R_WORDS = 32
const R_DOUBLES = 16
/** Words 0-15: the key. */
const R_KEY = 0
/** Doubles 8-12: time of the last packet (ms since the table's first packet), then Metric's counters. */
const RD_LAST = 8
const RD_AB_PACKETS = 9
const RD_AB_BYTES = 10
const RD_BA_PACKETS = 11
const RD_BA_BYTES = 12
/** Words 26-31. */
const R_FLAGS = 26
const R_FINISH = 27
const R_HASH = 28
/** Internal id, the parent's part of a child's key (wraps at 2^32). */
const R_ID = 29
/** Double 15 (words 30-31): when the flow was last seen, as a count of touches (see #stamp). */
const RD_SEEN = 15

// Int32 fields of a slot, apart from the record.
/** Source (A) and destination (B) MACs of the first packet, as int32 halves (4 + 2 bytes). */
const I_AMAC_HI = 0
const I_AMAC_LO = 1
const I_BMAC_HI = 2
const I_BMAC_LO = 3
/** IP version of the network layer: 0 (none), 4 or 6. */
const I_IPV = 4
/** Source (A) and destination (B) IPs of the first packet, as big-endian int32 words (one for IPv4). */
const I_AIP = 5
const I_BIP = 9
/** IP protocol of the transport layer: 0 (none), 6, 17 or 132. */
const I_TRANSPORT = 13
const I_TRANSPORT_A = 14
const I_TRANSPORT_B = 15
/** icmpTypeValue + 1; 0: no ICMP layer. */
const I_ICMP_TYPE = 16
const I_ICMP_CODE = 17
const I_ICMP_ID = 18
/** Community ID inputs (protocol < 0: no Community ID; ports < 0: none). */
const I_CID_PROTO = 19
const I_CID_SPORT = 20
const I_CID_DPORT = 21
/** XXH64 digests as (hi, lo): turned into text only when the flow is emitted. */
const I_UUID = 22
const I_TRACKING = 24
const I_L3_TRACKING = 26
const I_PARENT_UUID = 28
const I_SYN_TTL_AB = 30
const I_SYN_TTL_BA = 31
const I_STRIDE = 32

// Float64 fields of a slot, apart from the record: times in ms since the table's first packet.
const D_START = 0
/** Metric at the previous update tick. */
const D_PREV_AB_PACKETS = 1
const D_PREV_AB_BYTES = 2
const D_PREV_BA_PACKETS = 3
const D_PREV_BA_BYTES = 4
const D_LINK_ID = 5
const D_NETWORK_ID = 6
/** LastUpdateMetric: ABPackets, ABBytes, BAPackets, BABytes, Start, Last, RTT (0: none). */
const D_LUM = 7
/** Time of the pending RTT request (seconds < 0: none), then the RTT in ns (0: none). */
const D_RTT_SEC = 14
const D_RTT_NSEC = 15
const D_RTT = 16
const D_STRIDE = 17

/** TCPMetric times (ABSynStart, BASynStart, ABFinStart, BAFinStart, ABRstStart, BARstStart), with ExtraTCPMetric. */
const T_STRIDE = 6

const F_ALIVE = 1
const F_UPDATED = 2
const F_LINK = 4
/** LastUpdateMetric is set. */
const F_LUM = 8
/** TCPMetric is kept (ExtraTCPMetric and a TCP flow). */
const F_TCP = 16
const F_PARENT = 32
const F_CID_ONE_WAY = 64
const F_SYN_TTL_AB = 128
const F_SYN_TTL_BA = 256
/** BASynTTL was set before ABSynTTL: the emitted TCPMetric lists them in that order. */
const F_SYN_TTL_BA_FIRST = 512
/** The first packet's key was direction-swapped (see #buildKey). */
const F_SWAP = 1024

/** Stamps stay below this, so that a stamp and a slot pack exactly into one double (see #sortByRecency). */
const STAMP_LIMIT = 2 ** 30
/** Capacities up to this sort recency with packed keys; larger ones with a comparator. */
const PACKED_SORT_CAPACITY = 2 ** 22

const transportNames: Readonly<Record<number, FlowProtocol>> = { [TRANSPORT_TCP]: 'TCP', [TRANSPORT_UDP]: 'UDP', [TRANSPORT_SCTP]: 'SCTP' }

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
  /** Someone receives flows: without a receiver, none is built. */
  #listening: boolean
  #countOnly: boolean
  #stampLimit: number
  #emitUpdates: boolean
  #appTimeoutMs: Map<string, number>
  #tcpApps: Map<number, string>
  #udpApps: Map<number, string>
  #cidSeed: number
  #maxFragments: number

  #capacity = 0
  #slotsUsed = 0
  #freeSlots: number[] = []
  #rec = new Int32Array(0)
  #recD = new Float64Array(0)
  #ints = new Int32Array(0)
  #nums = new Float64Array(0)
  #tcp = new Float64Array(0)
  /** Interned strings, shared by all the flows of the same layer sequence. */
  #layersPath: string[] = []
  #application: string[] = []
  /** Open addressing: pairs (slot + 1, key hash) per position; slot + 1 = 0: empty. */
  #index = new Int32Array(0)
  #indexMask = 0
  #size = 0
  /** The last stamp given (see #stamp). */
  #clock = 0
  /** Alive slots by recency, least recent first, as of #orderClock: flush() consumes it batch by batch. */
  #order: Int32Array | undefined
  #orderClock = -1
  #orderNext = 0
  /** Eviction candidates by recency with their stamps when sorted; one whose stamp changed since was seen again. */
  #evictSlots: Int32Array = new Int32Array(0)
  #evictStamps = new Float64Array(0)
  #evictNext = 0
  #nextId = 1
  #lastUpdate = TICK_NONE
  /** Time (ms) of the first packet: flow times are kept relative to it. */
  #epoch = 0
  #hasEpoch = false
  #fragments = new Map<string, { slot: number, id: number, at: number }>()

  // Per-packet scratch space.
  /**
   * Keys, KEY_WORDS words apart: those processPackets makes ahead, one per packet, then room for
   * the key made when it is needed. The key in use starts at #keyAt.
   */
  #keys = new Int32Array((BATCH_MAX + 1) * KEY_WORDS)
  #keyAt = 0
  /** processPackets' keys made ahead: hash, and word count | swap bits per packet (-1: none). */
  #batchHashes = new Int32Array(BATCH_MAX)
  #batchFacts = new Int32Array(BATCH_MAX)
  #batchFound = new Int32Array(BATCH_MAX)
  /** Which key of the batch the packet being accounted uses (-1: none, make it). */
  #keyed = -1
  /** What processPackets read ahead, kept so that the reads are not optimized away. */
  #sink = 0
  /** Skydive's key bytes of a flow being created. */
  #hbuf = new Uint8Array(512)
  #uuidInput: Uint8Array
  #addrA = new Uint8Array(16)
  #addrB = new Uint8Array(16)
  #addrA4 = this.#addrA.subarray(0, 4)
  #addrB4 = this.#addrB.subarray(0, 4)
  #digest = new Uint32Array(2)
  #hasher = new StreamingXXH64()
  /** Words of the key in use. */
  #keyWords = 0
  #l3Len = 0
  #l2Len = 0
  /** Direction of the key just built: source and destination endpoints were swapped. */
  #swap = false
  /** The swap was decided by different MACs or different IPs, as a flow's A side is (see #update1). */
  #swapDecisive = false
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
    this.#countOnly = opts.countOnly === true
    this.#stampLimit = Math.min(STAMP_LIMIT, Math.max(1, opts.stampLimit ?? STAMP_LIMIT))
    this.#listening = opts.onFlows !== undefined && !this.#countOnly
    this.#emitUpdates = opts.emitUpdates ?? true
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
    if (now - this.#lastUpdate >= this.updateMs || this.#lastUpdate === TICK_NONE) this.tick(now)
    this.counters.packets++
    let parent = -1
    for (let i = 0; i < pkt.segmentCount; i++) {
      const seg = pkt.segments[i] as Segment
      parent = seg.laterFragment ? this.#laterFragment(pkt, seg, parent, now, tsSec, tsNsec) : this.#packetToFlow(pkt, seg, parent, now, tsSec, tsNsec)
      this.#keyed = -1
    }
  }

  /**
   * Accounts `pkts[0, n)`, seen at `tsSec[i]` + `tsNsec[i]`, exactly as processPacket would one
   * after the other. On a large table most of a packet's time is spent waiting for memory: the
   * index entry of its flow's key, then the flow's record. Here the keys of the packets' first
   * levels are made first, and those entries and records are read for all the packets in a row,
   * so that the reads wait together instead of one after the other; each packet then finds them
   * in the cache. (The reads are hints: a flow created or removed meanwhile only costs a miss.)
   */
  processPackets (pkts: readonly DecodedPacket[], tsSec: Float64Array, tsNsec: Float64Array, n: number): void {
    if (n > BATCH_MAX) throw new TopoflowError('TOPOFLOW_ERR_INVALID_REQUEST', `processPackets takes at most ${BATCH_MAX} packets at a time, got ${n}`)
    const hashes = this.#batchHashes
    const facts = this.#batchFacts
    for (let j = 0; j < n; j++) {
      const pkt = pkts[j] as DecodedPacket
      const seg = pkt.segments[0] as Segment
      if (pkt.segmentCount === 0 || seg.laterFragment) { facts[j] = -1; continue }
      this.#keyAt = j * KEY_WORDS
      this.#buildKey(pkt.data, seg, 0)
      const words = this.#keyWords
      hashes[j] = this.#hashKey()
      facts[j] = words | (this.#swap ? 0x100 : 0) | (this.#swapDecisive ? 0x200 : 0) | (this.#useLink ? 0x400 : 0)
    }
    const mask = this.#indexMask
    if (mask !== 0) {
      const index = this.#index
      const rec = this.#rec
      const found = this.#batchFound
      for (let j = 0; j < n; j++) found[j] = facts[j] as number < 0 ? 0 : index[2 * ((hashes[j] as number) & mask)] as number
      let sink = 0
      for (let j = 0; j < n; j++) {
        // A record's first, middle and last words: its 128 bytes span two cache lines, or three
        // when the array does not start on a line (an ArrayBuffer's address is not ours to align).
        const r = ((found[j] as number) - 1) * R_WORDS
        if (r >= 0) sink ^= (rec[r] as number) ^ (rec[r + 16] as number) ^ (rec[r + R_WORDS - 1] as number)
      }
      this.#sink = sink
    }
    for (let j = 0; j < n; j++) {
      this.#keyed = facts[j] as number < 0 ? -1 : j
      this.processPacket(pkts[j] as DecodedPacket, tsSec[j] as number, tsNsec[j] as number)
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

  /**
   * Emits the flows left (reason 'flush', FinishType TIMEOUT if not finished), least recently
   * seen first, and takes them out of the table: all of them, or at most `limit` per call so that
   * a reader can consume a large table in batches. Returns whether flows are left.
   */
  flush (limit = Infinity): boolean {
    const all = this.#size <= limit
    if (all && !this.#listening) {
      this.#clear()
      return false
    }
    const out: Flow[] = []
    const rec = this.#rec
    // Batch after batch, the order sorted for the first one serves while no packet comes in between.
    if (this.#order === undefined || this.#orderClock !== this.#clock) {
      this.#order = this.#aliveByRecency()
      this.#orderClock = this.#clock
      this.#orderNext = 0
    }
    const order = this.#order
    let i = this.#orderNext
    for (; i < order.length && out.length < limit; i++) {
      const s = order[i] as number
      const r = s * R_WORDS
      if (((rec[r + R_FLAGS] as number) & F_ALIVE) === 0) continue
      if (((rec[r + R_FLAGS] as number) & F_UPDATED) !== 0) this.#updateMetric(s, this.#lastUpdate, this.#epoch + (this.#recD[s * R_DOUBLES + RD_LAST] as number))
      if (rec[r + R_FINISH] === FinishType.NOT_FINISHED) rec[r + R_FINISH] = FinishType.TIMEOUT
      if (this.#listening) out.push(this.#toFlow(s))
      if (!all) this.#remove(s)
    }
    this.#orderNext = i
    if (all) this.#clear()
    if (out.length > 0) this.#onFlows(out, 'flush')
    return this.#size > 0
  }

  /** Takes every flow out of the table at once. */
  #clear (): void {
    const rec = this.#rec
    for (let s = 0; s < this.#slotsUsed; s++) rec[s * R_WORDS + R_FLAGS] = (rec[s * R_WORDS + R_FLAGS] as number) & ~F_ALIVE
    this.#index.fill(0)
    this.#freeSlots = []
    this.#slotsUsed = 0
    this.#fragments.clear()
    this.#size = 0
    this.#order = undefined
    this.#evictNext = this.#evictSlots.length
  }

  /** Current flows, most recently seen first, as they would be emitted now (for live queries). */
  snapshot (): Flow[] {
    if (this.#countOnly) throw new TopoflowError('TOPOFLOW_ERR_INVALID_REQUEST', 'A flow table that only counts (countOnly) has no flows to show')
    const out: Flow[] = []
    const order = this.#aliveByRecency()
    for (let i = order.length - 1; i >= 0; i--) out.push(this.#toFlow(order[i] as number))
    return out
  }

  // ---- per packet --------------------------------------------------------------------------

  /** The slot of the packet level's flow, created when new; `parent` is the slot of the level above (-1: none). */
  #packetToFlow (pkt: DecodedPacket, seg: Segment, parent: number, now: number, tsSec: number, tsNsec: number): number {
    const d = pkt.data
    let hash: number
    const j = this.#keyed
    if (j >= 0) {
      // Keyed ahead by processPackets (the first level of a packet: no parent).
      const facts = this.#batchFacts[j] as number
      this.#keyAt = j * KEY_WORDS
      this.#keyWords = facts & 0xff
      this.#swap = (facts & 0x100) !== 0
      this.#swapDecisive = (facts & 0x200) !== 0
      this.#useLink = (facts & 0x400) !== 0
      hash = this.#batchHashes[j] as number
    } else {
      this.#keyAt = BATCH_MAX * KEY_WORDS
      this.#buildKey(d, seg, parent < 0 ? 0 : this.#rec[parent * R_WORDS + R_ID] as number)
      hash = this.#hashKey()
    }
    let slot = this.#lookup(hash)
    if (slot < 0) {
      slot = this.#create(pkt, seg, hash, parent, now, tsSec, tsNsec)
    } else {
      this.#stamp(slot)
      this.#update1(slot, pkt, seg, now, tsSec, tsNsec)
    }
    const f = slot * R_WORDS + R_FLAGS
    this.#rec[f] = (this.#rec[f] as number) | F_UPDATED
    if (seg.firstFragment && seg.ipVersion !== 0) this.#rememberFragment(d, seg, slot, now)
    return slot
  }

  #laterFragment (pkt: DecodedPacket, seg: Segment, parent: number, now: number, tsSec: number, tsNsec: number): number {
    const known = this.#fragments.get(fragmentKey(pkt.data, seg))
    if (known !== undefined && this.#isAlive(known.slot, known.id) && now - known.at < 30000) {
      this.counters.fragmentsAttributed++
      known.at = now
      this.#stamp(known.slot)
      // No key was built for this packet: its direction comes from the flow's endpoints.
      this.#swapDecisive = false
      this.#update1(known.slot, pkt, seg, now, tsSec, tsNsec)
      const f = known.slot * R_WORDS + R_FLAGS
      this.#rec[f] = (this.#rec[f] as number) | F_UPDATED
      return known.slot
    }
    this.counters.fragmentsUnattributed++
    return this.#packetToFlow(pkt, seg, parent, now, tsSec, tsNsec)
  }

  /** Whether `slot` still holds the flow of internal id `id`. */
  #isAlive (slot: number, id: number): boolean {
    const r = slot * R_WORDS
    return slot < this.#slotsUsed && ((this.#rec[r + R_FLAGS] as number) & F_ALIVE) !== 0 && this.#rec[r + R_ID] === id
  }

  #rememberFragment (d: Uint8Array, seg: Segment, slot: number, now: number): void {
    const key = fragmentKey(d, seg)
    this.#fragments.delete(key)
    this.#fragments.set(key, { slot, id: this.#rec[slot * R_WORDS + R_ID] as number, at: now })
    if (this.#fragments.size > this.#maxFragments) {
      const oldest = this.#fragments.keys().next()
      if (oldest.done !== true) this.#fragments.delete(oldest.value)
    }
  }

  /**
   * Writes the lookup key of a packet's level at #keyAt: a first word that says which parts
   * follow (structure bits, IP version, transport kind), then the direction-normalized endpoints
   * Skydive keys on (flow/flow.go Packet.Keys), as big-endian words: network, transport (VNI and
   * destination port for VXLAN/Geneve), ICMP, then link in L2 mode or without IP; then the
   * parent's internal id. The first word fixes the parts and their lengths, so two keys are equal
   * exactly when Skydive's keys are.
   */
  #buildKey (d: Uint8Array, seg: Segment, parentId: number): void {
    const k = this.#keys
    const at = this.#keyAt
    const hasNet = seg.ipVersion !== 0
    const useLink = seg.hasEthernet && (this.layerKeyMode === 'L2' || !hasNet)
    const v4 = seg.ipVersion === 4
    const ipLen = v4 ? 4 : 16
    const srcIp = seg.ipOffset + (v4 ? 12 : 8)
    const dstIp = srcIp + ipLen
    const dstMac = seg.ethOffset
    const srcMac = seg.ethOffset + 6
    const vxlanLike = seg.transport === TRANSPORT_UDP && (seg.tunnel === TUNNEL_VXLAN || seg.tunnel === TUNNEL_GENEVE)

    let swap = false
    let decisive = false
    let fromNetwork = true
    if (useLink || !hasNet) {
      fromNetwork = false
      const cmp = compareRange(d, srcMac, d, dstMac, 6)
      swap = cmp > 0
      decisive = cmp !== 0
      if (cmp === 0 && hasNet) fromNetwork = true
    }
    if (fromNetwork && hasNet) {
      const cmp = compareRange(d, srcIp, d, dstIp, ipLen)
      swap = cmp > 0
      decisive = cmp !== 0
      if (cmp === 0 && seg.transport !== 0) {
        if (vxlanLike) {
          // bytes.Compare(VNI as 4 bytes, port as 2 bytes)
          const a0 = seg.tunnelId >>> 16; const b0 = seg.dstPort
          swap = a0 !== b0 ? a0 > b0 : true
        } else swap = seg.srcPort > seg.dstPort
      }
    }
    this.#swap = swap
    this.#swapDecisive = decisive
    this.#useLink = useLink

    const kind = seg.transport === 0 ? 0 : vxlanLike ? 7 : seg.transport === TRANSPORT_TCP ? 4 : seg.transport === TRANSPORT_UDP ? 5 : 6
    k[at] = (hasNet ? 1 : 0) | (seg.transport !== 0 && hasNet ? 2 : 0) | (seg.icmpVersion !== 0 ? 4 : 0) | (useLink ? 8 : 0) | (seg.ipVersion << 8) | (kind << 16)
    let o = at + 1
    if (hasNet) {
      const a = swap ? dstIp : srcIp
      const b = swap ? srcIp : dstIp
      if (v4) {
        k[at + 1] = i32(d, a); k[at + 2] = i32(d, b)
        o = at + 3
      } else {
        k[at + 1] = i32(d, a); k[at + 2] = i32(d, a + 4); k[at + 3] = i32(d, a + 8); k[at + 4] = i32(d, a + 12)
        k[at + 5] = i32(d, b); k[at + 6] = i32(d, b + 4); k[at + 7] = i32(d, b + 8); k[at + 8] = i32(d, b + 12)
        o = at + 9
      }
    }
    if (seg.transport !== 0) {
      if (vxlanLike) {
        k[o++] = seg.tunnelId | 0
        k[o++] = seg.dstPort
      } else {
        k[o++] = swap ? (seg.dstPort << 16) | seg.srcPort : (seg.srcPort << 16) | seg.dstPort
      }
    }
    if (seg.icmpVersion !== 0) k[o++] = icmpKeyValue(seg) | 0
    if (useLink) {
      const a = swap ? dstMac : srcMac
      const b = swap ? srcMac : dstMac
      k[o++] = macHi(d, a); k[o++] = macHi(d, b); k[o++] = (macLo(d, a) << 16) | macLo(d, b)
    }
    k[o++] = parentId | 0
    this.#keyWords = o - at
  }

  /** A 32-bit hash of the key words (murmur3's mixing); only used to find the bucket. */
  #hashKey (): number {
    const w = this.#keys
    const at = this.#keyAt
    const n = this.#keyWords
    let h = n
    for (let i = at; i < at + n; i++) {
      let k = Math.imul(w[i] as number, 0xcc9e2d51)
      k = Math.imul((k << 15) | (k >>> 17), 0x1b873593)
      h ^= k
      h = (h << 13) | (h >>> 19)
      h = (Math.imul(h, 5) + 0xe6546b64) | 0
    }
    h ^= h >>> 16
    h = Math.imul(h, 0x85ebca6b)
    h ^= h >>> 13
    h = Math.imul(h, 0xc2b2ae35)
    h ^= h >>> 16
    return h
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

  /** The slot whose key equals the key in use, by linear probing from its hash; -1 when there is none. */
  #lookup (hash: number): number {
    const mask = this.#indexMask
    if (mask === 0) return -1
    const index = this.#index
    const rec = this.#rec
    const k = this.#keys
    const at = this.#keyAt
    const words = this.#keyWords
    for (let i = hash & mask; ; i = (i + 1) & mask) {
      const v = index[2 * i] as number
      if (v === 0) return -1
      if (index[2 * i + 1] !== hash) continue
      const base = (v - 1) * R_WORDS + R_KEY
      let j = 0
      while (j < words && rec[base + j] === k[at + j]) j++
      if (j === words) return v - 1
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
    const rec = new Int32Array(capacity * R_WORDS); rec.set(this.#rec); this.#rec = rec
    this.#recD = new Float64Array(rec.buffer)
    const ints = new Int32Array(capacity * I_STRIDE); ints.set(this.#ints); this.#ints = ints
    const nums = new Float64Array(capacity * D_STRIDE); nums.set(this.#nums); this.#nums = nums
    if (this.extraTcpMetric) { const tcp = new Float64Array(capacity * T_STRIDE); tcp.set(this.#tcp); this.#tcp = tcp }
    this.#capacity = capacity
    // The index stays at most half full: rebuild it at twice the new capacity.
    let size = 1
    while (size < capacity * 2) size *= 2
    this.#index = new Int32Array(size * 2)
    this.#indexMask = size - 1
    for (let s = 0; s < this.#slotsUsed; s++) {
      if (((rec[s * R_WORDS + R_FLAGS] as number) & F_ALIVE) !== 0) this.#indexInsert(s, rec[s * R_WORDS + R_HASH] as number)
    }
  }

  #indexInsert (slot: number, hash: number): void {
    const index = this.#index
    const mask = this.#indexMask
    let i = hash & mask
    while (index[2 * i] !== 0) i = (i + 1) & mask
    index[2 * i] = slot + 1
    index[2 * i + 1] = hash
  }

  /** Removes a slot from the index, shifting later entries of its probe run back (no tombstones). */
  #indexRemove (slot: number, hash: number): void {
    const index = this.#index
    const mask = this.#indexMask
    let i = hash & mask
    while (index[2 * i] !== slot + 1) {
      if (index[2 * i] === 0) return
      i = (i + 1) & mask
    }
    for (let j = (i + 1) & mask; index[2 * j] !== 0; j = (j + 1) & mask) {
      const home = (index[2 * j + 1] as number) & mask
      // The entry at j stays when its home lies cyclically in (i, j].
      if (i <= j ? (i < home && home <= j) : (i < home || home <= j)) continue
      index[2 * i] = index[2 * j] as number
      index[2 * i + 1] = index[2 * j + 1] as number
      i = j
    }
    index[2 * i] = 0
  }

  #create (pkt: DecodedPacket, seg: Segment, hash: number, parent: number, now: number, tsSec: number, tsNsec: number): number {
    const d = pkt.data
    const slot = this.#takeSlot()
    // After #takeSlot: growing replaces the arrays.
    const rec = this.#rec
    const ints = this.#ints
    const nums = this.#nums
    const r = slot * R_WORDS
    const ib = slot * I_STRIDE
    const db = slot * D_STRIDE
    rec.fill(0, r, r + R_WORDS)
    ints.fill(0, ib, ib + I_STRIDE)
    nums.fill(0, db, db + D_STRIDE)
    const keys = this.#keys
    const at = this.#keyAt
    const words = this.#keyWords
    for (let j = 0; j < words; j++) rec[r + R_KEY + j] = keys[at + j] as number
    rec[r + R_ID] = this.#nextId++
    if (this.#nextId > 0xffffffff) this.#nextId = 1
    rec[r + R_HASH] = hash
    let flags = F_ALIVE | (this.#swap ? F_SWAP : 0)
    nums[db + D_START] = now - this.#epoch
    this.#recD[slot * R_DOUBLES + RD_LAST] = now - this.#epoch
    nums[db + D_RTT_SEC] = -1
    if (parent >= 0) {
      flags |= F_PARENT
      ints[ib + I_PARENT_UUID] = ints[parent * I_STRIDE + I_UUID] as number
      ints[ib + I_PARENT_UUID + 1] = ints[parent * I_STRIDE + I_UUID + 1] as number
    }

    if (seg.hasEthernet) {
      flags |= F_LINK
      nums[db + D_LINK_ID] = seg.linkId()
      ints[ib + I_AMAC_HI] = macHi(d, seg.ethOffset + 6)
      ints[ib + I_AMAC_LO] = macLo(d, seg.ethOffset + 6)
      ints[ib + I_BMAC_HI] = macHi(d, seg.ethOffset)
      ints[ib + I_BMAC_LO] = macLo(d, seg.ethOffset)
    }
    const lp = knownLayersPath(seg.layers, seg.layerCount)
    this.#layersPath[slot] = lp.path
    let application = lp.application

    let cidProto = -1; let cidSport = -1; let cidDport = -1; let cidOneWay = false
    if (seg.ipVersion !== 0) {
      const v4 = seg.ipVersion === 4
      const src = seg.ipOffset + (v4 ? 12 : 8)
      const dst = src + (v4 ? 4 : 16)
      ints[ib + I_IPV] = seg.ipVersion
      nums[db + D_NETWORK_ID] = seg.tunnelId
      ints[ib + I_AIP] = i32(d, src); ints[ib + I_BIP] = i32(d, dst)
      if (!v4) {
        ints[ib + I_AIP + 1] = i32(d, src + 4); ints[ib + I_AIP + 2] = i32(d, src + 8); ints[ib + I_AIP + 3] = i32(d, src + 12)
        ints[ib + I_BIP + 1] = i32(d, dst + 4); ints[ib + I_BIP + 2] = i32(d, dst + 8); ints[ib + I_BIP + 3] = i32(d, dst + 12)
      }
      cidProto = seg.ipProto
      if (seg.icmpVersion !== 0) {
        ints[ib + I_ICMP_TYPE] = icmpTypeValue[icmpTypeOf(seg)] + 1
        ints[ib + I_ICMP_CODE] = seg.icmpCode
        ints[ib + I_ICMP_ID] = seg.icmpVersion === 4 || seg.icmpv6Echo ? seg.icmpId : 0
        const ports = icmpPorts(seg.icmpVersion === 4 ? 1 : 58, seg.icmpType, seg.icmpCode)
        cidProto = seg.icmpVersion === 4 ? 1 : 58
        cidSport = ports.sport; cidDport = ports.dport; cidOneWay = ports.oneWay
      }
      if (seg.transport !== 0) {
        ints[ib + I_TRANSPORT] = seg.transport
        ints[ib + I_TRANSPORT_A] = seg.srcPort
        ints[ib + I_TRANSPORT_B] = seg.dstPort
        cidProto = seg.transport
        cidSport = seg.srcPort; cidDport = seg.dstPort
        const apps = seg.transport === TRANSPORT_TCP ? this.#tcpApps : seg.transport === TRANSPORT_UDP ? this.#udpApps : undefined
        if (apps !== undefined && apps.size > 0) {
          const app = apps.get(seg.srcPort) ?? apps.get(seg.dstPort)
          if (app !== undefined) application = app
        }
        if (seg.transport === TRANSPORT_TCP && this.extraTcpMetric) {
          flags |= F_TCP
          this.#tcp.fill(0, slot * T_STRIDE, (slot + 1) * T_STRIDE)
        }
      }
    }
    this.#application[slot] = application
    if (cidProto >= 0 && cidProto <= 255) {
      ints[ib + I_CID_PROTO] = cidProto
      ints[ib + I_CID_SPORT] = cidSport
      ints[ib + I_CID_DPORT] = cidDport
      if (cidOneWay) flags |= F_CID_ONE_WAY
    } else ints[ib + I_CID_PROTO] = -1
    rec[r + R_FLAGS] = flags
    if (!this.#countOnly) this.#setUUIDs(slot, d, seg)

    // Into the table, as the most recently seen flow; evict the least recently seen one when full.
    this.#indexInsert(slot, hash)
    this.#stamp(slot)
    this.#size++
    this.counters.flowsCreated++
    if (this.#size > this.maxEntries) {
      this.#remove(this.#leastRecent())
      this.counters.flowsDropped++
    }
    this.#update1(slot, pkt, seg, now, tsSec, tsNsec)
    return slot
  }

  /**
   * TrackingID, L3TrackingID and UUID exactly as Skydive computes them: one streaming hasher
   * read at the end of the L3 part, after the link part (when there is one), and after the parent
   * UUID (see StreamingXXH64 for why the intermediate reads matter); then the UUID is XXH64
   * seeded with that key over the big-endian Start (ms) and the NodeTID. Kept as digests; their
   * text is made when the flow is emitted.
   */
  #setUUIDs (slot: number, d: Uint8Array, seg: Segment): void {
    this.#buildSkydiveKey(d, seg)
    const ints = this.#ints
    const ib = slot * I_STRIDE
    const k = this.#hbuf
    const out = this.#digest
    const h = this.#hasher
    let o = this.#l2Len
    if (((this.#rec[slot * R_WORDS + R_FLAGS] as number) & F_PARENT) !== 0) o += hex64Into(ints[ib + I_PARENT_UUID] as number, ints[ib + I_PARENT_UUID + 1] as number, k, o)
    h.reset(0, 0)
    h.sum(k, this.#l3Len, out)
    ints[ib + I_L3_TRACKING] = out[0] as number; ints[ib + I_L3_TRACKING + 1] = out[1] as number
    if (this.#l2Len > this.#l3Len) h.sum(k, this.#l2Len, out)
    ints[ib + I_TRACKING] = out[0] as number; ints[ib + I_TRACKING + 1] = out[1] as number
    h.sum(k, o, out)
    const keyHi = out[0] as number; const keyLo = out[1] as number
    const u = this.#uuidInput
    const start = this.#epoch + (this.#nums[slot * D_STRIDE + D_START] as number)
    const hi = Math.floor(start / 4294967296)
    writeU32(u, 0, hi >>> 0)
    writeU32(u, 4, (start - hi * 4294967296) >>> 0)
    xxh64Into(u, u.length, keyHi, keyLo, out)
    ints[ib + I_UUID] = out[0] as number; ints[ib + I_UUID + 1] = out[1] as number
  }

  /** Skydive's Flow.Update: metrics by direction, RTT, TCP metric, finish type. */
  #update1 (slot: number, pkt: DecodedPacket, seg: Segment, now: number, tsSec: number, tsNsec: number): void {
    const d = pkt.data
    const rec = this.#rec
    const recD = this.#recD
    const r = slot * R_WORDS
    const rd = slot * R_DOUBLES
    // Packet times can go backwards (merged captures, clock steps): Last is the latest time seen.
    if (now - this.#epoch > (recD[rd + RD_LAST] as number)) recD[rd + RD_LAST] = now - this.#epoch
    const flags = rec[r + R_FLAGS] as number
    let length: number
    let linkPath = false
    if (this.layerKeyMode === 'L3') {
      length = seg.length
      if (length === 0 && seg.hasEthernet) length = 14 + seg.ethPayloadLength
      if (length === 0) length = seg.ipTotalLength
    } else if ((flags & F_LINK) !== 0 && seg.hasEthernet) {
      length = seg.length > 0 ? seg.length : 14 + seg.ethPayloadLength
      linkPath = true
    } else {
      length = seg.ipTotalLength
    }
    // A is the first packet's source. When this packet's key direction was decided by different
    // MACs or different IPs, it was decided by the very addresses the A side is recognized by,
    // and the first packet's was too (same key, same addresses): same swap, same side. Otherwise
    // compare with the flow's A endpoint.
    let ab: boolean
    if (this.#swapDecisive) ab = this.#swap === ((flags & F_SWAP) !== 0)
    else if (this.layerKeyMode === 'L3') {
      const ib = slot * I_STRIDE
      ab = this.#ints[ib + I_IPV] !== 0 && seg.ipVersion !== 0 ? this.#isABByNetwork(ib, d, seg) : this.#isABByLink(ib, d, seg)
    } else ab = linkPath ? this.#isABByLink(slot * I_STRIDE, d, seg) : this.#isABByNetwork(slot * I_STRIDE, d, seg)
    if (ab) {
      recD[rd + RD_AB_PACKETS] = (recD[rd + RD_AB_PACKETS] as number) + 1
      recD[rd + RD_AB_BYTES] = (recD[rd + RD_AB_BYTES] as number) + length
    } else {
      recD[rd + RD_BA_PACKETS] = (recD[rd + RD_BA_PACKETS] as number) + 1
      recD[rd + RD_BA_BYTES] = (recD[rd + RD_BA_BYTES] as number) + length
    }

    // RTT: ICMP echo request → reply, TCP SYN → SYN-ACK (or RST).
    if (seg.icmpVersion !== 0) {
      const t = seg.icmpType
      const request = seg.icmpVersion === 4 ? t === 8 : t === 128
      const reply = seg.icmpVersion === 4 ? t === 0 : t === 129
      if (request || reply) this.#rtt(slot, request, reply, tsSec, tsNsec)
    } else if (seg.transport === TRANSPORT_TCP) {
      const f = seg.tcpFlags
      if ((f & (TCP_SYN | TCP_RST)) !== 0) this.#rtt(slot, (f & TCP_SYN) !== 0, ((f & TCP_SYN) !== 0 && (f & TCP_ACK) !== 0) || (f & TCP_RST) !== 0, tsSec, tsNsec)
      if ((f & (TCP_FIN | TCP_RST)) !== 0 && rec[r + R_FINISH] === FinishType.NOT_FINISHED) {
        rec[r + R_FINISH] = (f & TCP_FIN) !== 0 ? FinishType.TCP_FIN : FinishType.TCP_RST
      }
      if ((flags & F_TCP) !== 0 && (f & (TCP_SYN | TCP_FIN | TCP_RST)) !== 0 && seg.ipVersion !== 0) this.#updateTcpMetric(slot, d, seg, now)
    }
  }

  /** A request starts a round trip when none is pending; an answer ends the pending one. */
  #rtt (slot: number, request: boolean, answer: boolean, tsSec: number, tsNsec: number): void {
    const nums = this.#nums
    const db = slot * D_STRIDE
    const pending = nums[db + D_RTT_SEC] as number
    if (request && pending < 0) { nums[db + D_RTT_SEC] = tsSec; nums[db + D_RTT_NSEC] = tsNsec } else if (answer && pending >= 0) {
      const rtt = (tsSec - pending) * 1e9 + (tsNsec - (nums[db + D_RTT_NSEC] as number))
      // An answer stamped before its request (times going backwards) measures nothing.
      if (rtt >= 0) nums[db + D_RTT] = rtt
      nums[db + D_RTT_SEC] = -1
    }
  }

  #updateTcpMetric (slot: number, d: Uint8Array, seg: Segment, now: number): void {
    const m = this.#tcp
    const t = slot * T_STRIDE
    const rec = this.#rec
    const r = slot * R_WORDS
    const ints = this.#ints
    const ib = slot * I_STRIDE
    const fromA = this.#isABByNetwork(ib, d, seg)
    const f = seg.tcpFlags
    if ((f & TCP_SYN) !== 0) {
      if (fromA && m[t] === 0) {
        m[t] = now
        ints[ib + I_SYN_TTL_AB] = seg.ttl
        rec[r + R_FLAGS] = (rec[r + R_FLAGS] as number) | F_SYN_TTL_AB
      } else if (!fromA && m[t + 1] === 0) {
        m[t + 1] = now
        ints[ib + I_SYN_TTL_BA] = seg.ttl
        const flags = rec[r + R_FLAGS] as number
        rec[r + R_FLAGS] = flags | F_SYN_TTL_BA | ((flags & (F_SYN_TTL_AB | F_SYN_TTL_BA)) === 0 ? F_SYN_TTL_BA_FIRST : 0)
      }
    } else if ((f & TCP_FIN) !== 0) {
      if (fromA) { if (m[t + 2] === 0) m[t + 2] = now } else if (m[t + 3] === 0) m[t + 3] = now
    } else if ((f & TCP_RST) !== 0) {
      if (fromA) { if (m[t + 4] === 0) m[t + 4] = now } else if (m[t + 5] === 0) m[t + 5] = now
    }
  }

  #isABByLink (ib: number, d: Uint8Array, seg: Segment): boolean {
    if (!seg.hasEthernet) return this.#isABByNetwork(ib, d, seg)
    const src = seg.ethOffset + 6
    if (compareRange(d, src, d, seg.ethOffset, 6) === 0) return this.#isABByNetwork(ib, d, seg)
    return macHi(d, src) === this.#ints[ib + I_AMAC_HI] && macLo(d, src) === this.#ints[ib + I_AMAC_LO]
  }

  #isABByNetwork (ib: number, d: Uint8Array, seg: Segment): boolean {
    const ints = this.#ints
    const ipv = ints[ib + I_IPV] as number
    if (ipv === 0 || seg.ipVersion !== ipv) return false
    const len = ipv === 4 ? 4 : 16
    const src = seg.ipOffset + (ipv === 4 ? 12 : 8)
    if (ints[ib + I_TRANSPORT] !== 0 && seg.transport !== 0 && compareRange(d, src, d, src + len, len) === 0) {
      return seg.srcPort === ints[ib + I_TRANSPORT_A]
    }
    if (i32(d, src) !== ints[ib + I_AIP]) return false
    return len === 4 || (i32(d, src + 4) === ints[ib + I_AIP + 1] && i32(d, src + 8) === ints[ib + I_AIP + 2] && i32(d, src + 12) === ints[ib + I_AIP + 3])
  }

  /** Marks the flow as the most recently seen one. */
  #stamp (slot: number): void {
    if (this.#clock >= this.#stampLimit) this.#renumber()
    this.#recD[slot * R_DOUBLES + RD_SEEN] = ++this.#clock
  }

  /** Stamps the flows anew, 1 to size in the same order, so that stamps stay small. */
  #renumber (): void {
    const order = this.#aliveByRecency()
    const recD = this.#recD
    for (let i = 0; i < order.length; i++) recD[(order[i] as number) * R_DOUBLES + RD_SEEN] = i + 1
    this.#clock = order.length
    this.#order = undefined
    this.#evictNext = this.#evictSlots.length
  }

  /** Alive slots, least recently seen first. */
  #aliveByRecency (): Int32Array {
    const rec = this.#rec
    // Sized by the slots in use: a flow being created is alive before it is counted in #size.
    const slots = new Int32Array(this.#slotsUsed)
    let n = 0
    for (let s = 0; s < this.#slotsUsed; s++) if (((rec[s * R_WORDS + R_FLAGS] as number) & F_ALIVE) !== 0) slots[n++] = s
    return this.#sortByRecency(slots, n)
  }

  /** `slots[0, n)`, least recently seen first. */
  #sortByRecency (slots: Int32Array, n: number): Int32Array {
    const recD = this.#recD
    const scale = this.#capacity
    if (scale > PACKED_SORT_CAPACITY) return slots.subarray(0, n).sort((a, b) => (recD[a * R_DOUBLES + RD_SEEN] as number) - (recD[b * R_DOUBLES + RD_SEEN] as number))
    // Stamps are unique: sort (stamp, slot) packed in one double, with the native numeric sort
    // (exact: stamp < 2^30, slot < capacity <= 2^22).
    const keys = new Float64Array(n)
    for (let i = 0; i < n; i++) {
      const s = slots[i] as number
      keys[i] = (recD[s * R_DOUBLES + RD_SEEN] as number) * scale + s
    }
    keys.sort()
    const out = slots.subarray(0, n)
    for (let i = 0; i < n; i++) out[i] = (keys[i] as number) % scale
    return out
  }

  /**
   * The least recently seen flow. Candidates are sorted once and taken in turn: one seen again
   * since (its stamp changed) is now more recent than every candidate left, and is skipped; a
   * flow created since is too. When none is left, they are sorted anew.
   */
  #leastRecent (): number {
    const rec = this.#rec
    const recD = this.#recD
    for (;;) {
      const slots = this.#evictSlots
      while (this.#evictNext < slots.length) {
        const i = this.#evictNext++
        const s = slots[i] as number
        if (((rec[s * R_WORDS + R_FLAGS] as number) & F_ALIVE) !== 0 && recD[s * R_DOUBLES + RD_SEEN] === this.#evictStamps[i]) return s
      }
      const order = this.#aliveByRecency()
      const stamps = new Float64Array(order.length)
      for (let i = 0; i < order.length; i++) stamps[i] = recD[(order[i] as number) * R_DOUBLES + RD_SEEN] as number
      this.#evictSlots = order
      this.#evictStamps = stamps
      this.#evictNext = 0
    }
  }

  #remove (slot: number): void {
    const rec = this.#rec
    const r = slot * R_WORDS
    rec[r + R_FLAGS] = (rec[r + R_FLAGS] as number) & ~F_ALIVE
    this.#indexRemove(slot, rec[r + R_HASH] as number)
    this.#freeSlots.push(slot)
    this.#size--
  }

  // ---- ticks -------------------------------------------------------------------------------

  #expire (now: number): void {
    const expired: number[] = []
    const rec = this.#rec
    for (let s = 0; s < this.#slotsUsed; s++) {
      const r = s * R_WORDS
      const flags = rec[r + R_FLAGS] as number
      if ((flags & F_ALIVE) === 0) continue
      const last = this.#epoch + (this.#recD[s * R_DOUBLES + RD_LAST] as number)
      if (now - last < this.expireMs) continue
      if ((flags & F_UPDATED) !== 0) this.#updateMetric(s, this.#lastUpdate, last)
      if (rec[r + R_FINISH] === FinishType.NOT_FINISHED) rec[r + R_FINISH] = FinishType.TIMEOUT
      this.#remove(s)
      this.counters.flowsExpired++
      if (this.#listening) expired.push(s)
    }
    this.#emitByRecency(expired, 'expire', EMIT_BATCH)
  }

  #update (from: number, now: number): void {
    const updated: number[] = []
    const finals: number[] = []
    const listening = this.#listening
    const rec = this.#rec
    const recD = this.#recD
    const nums = this.#nums
    for (let s = 0; s < this.#slotsUsed; s++) {
      const r = s * R_WORDS
      const rd = s * R_DOUBLES
      const db = s * D_STRIDE
      const flags = rec[r + R_FLAGS] as number
      if ((flags & F_ALIVE) === 0) continue
      const appTimeout = this.#appTimeoutMs.get(this.#application[s] as string) ?? 0
      if ((flags & F_UPDATED) !== 0) {
        this.#updateMetric(s, from, now)
        if (listening && this.#emitUpdates) updated.push(s)
      } else if (appTimeout > 0 && now - (this.#epoch + (recD[rd + RD_LAST] as number)) > appTimeout) {
        if (rec[r + R_FINISH] === FinishType.NOT_FINISHED) rec[r + R_FINISH] = FinishType.TIMEOUT
        if (listening) finals.push(s)
        this.#remove(s)
        this.counters.flowsExpired++
        continue
      } else {
        // Nothing since the last tick: the last update's metric is zero (its RTT, if any, stays).
        if ((flags & F_LUM) === 0) nums[db + D_LUM + 6] = 0
        nums[db + D_LUM] = 0; nums[db + D_LUM + 1] = 0; nums[db + D_LUM + 2] = 0; nums[db + D_LUM + 3] = 0
        nums[db + D_LUM + 4] = from
        nums[db + D_LUM + 5] = now
        rec[r + R_FLAGS] = flags | F_LUM
      }
      rec[r + R_FLAGS] = (rec[r + R_FLAGS] as number) & ~F_UPDATED
      nums[db + D_PREV_AB_PACKETS] = recD[rd + RD_AB_PACKETS] as number
      nums[db + D_PREV_AB_BYTES] = recD[rd + RD_AB_BYTES] as number
      nums[db + D_PREV_BA_PACKETS] = recD[rd + RD_BA_PACKETS] as number
      nums[db + D_PREV_BA_BYTES] = recD[rd + RD_BA_BYTES] as number
      if (rec[r + R_FINISH] !== FinishType.NOT_FINISHED && now - (this.#epoch + (recD[rd + RD_LAST] as number)) >= this.holdMs) {
        if (listening) finals.push(s)
        this.#remove(s)
      }
    }
    // Each flow's state above depends on that flow alone; the flows leave least recently seen
    // first, built from their slots (intact until a new flow takes them, which no tick does).
    // Updates all go before the flows that end: finals go in batches only when there are none.
    this.#emitByRecency(updated, 'update', Infinity)
    this.#emitByRecency(finals, 'expire', this.#emitUpdates ? Infinity : EMIT_BATCH)
  }

  /** Builds the flows of `slots` and hands them over least recently seen first, `batch` at a time. */
  #emitByRecency (slots: number[], reason: FlowEmitReason, batch: number): void {
    if (slots.length === 0) return
    const order = this.#sortByRecency(Int32Array.from(slots), slots.length)
    for (let i = 0; i < order.length; i += batch) {
      const out: Flow[] = []
      const end = Math.min(order.length, i + batch)
      for (let j = i; j < end; j++) out.push(this.#toFlow(order[j] as number))
      this.#onFlows(out, reason)
    }
  }

  /** LastUpdateMetric = Metric minus its value at the previous tick, over [start, last]. */
  #updateMetric (slot: number, start: number, last: number): void {
    const rec = this.#rec
    const recD = this.#recD
    const nums = this.#nums
    const r = slot * R_WORDS
    const rd = slot * R_DOUBLES
    const db = slot * D_STRIDE
    const flags = rec[r + R_FLAGS] as number
    if ((flags & F_LUM) === 0) start = this.#epoch + (nums[db + D_START] as number)
    nums[db + D_LUM] = (recD[rd + RD_AB_PACKETS] as number) - (nums[db + D_PREV_AB_PACKETS] as number)
    nums[db + D_LUM + 1] = (recD[rd + RD_AB_BYTES] as number) - (nums[db + D_PREV_AB_BYTES] as number)
    nums[db + D_LUM + 2] = (recD[rd + RD_BA_PACKETS] as number) - (nums[db + D_PREV_BA_PACKETS] as number)
    nums[db + D_LUM + 3] = (recD[rd + RD_BA_BYTES] as number) - (nums[db + D_PREV_BA_BYTES] as number)
    nums[db + D_LUM + 4] = start
    nums[db + D_LUM + 5] = last
    nums[db + D_LUM + 6] = nums[db + D_RTT] as number
    rec[r + R_FLAGS] = flags | F_LUM
  }

  /** The flow as emitted, with its fields in Skydive's JSON order. */
  #toFlow (slot: number): Flow {
    const rec = this.#rec
    const recD = this.#recD
    const ints = this.#ints
    const nums = this.#nums
    const r = slot * R_WORDS
    const rd = slot * R_DOUBLES
    const ib = slot * I_STRIDE
    const db = slot * D_STRIDE
    const flags = rec[r + R_FLAGS] as number
    const f: Partial<Flow> = {
      UUID: hex64(ints[ib + I_UUID] as number, ints[ib + I_UUID + 1] as number),
      LayersPath: this.#layersPath[slot] as string,
      Application: this.#application[slot] as string
    }
    if ((flags & F_LINK) !== 0) {
      f.Link = {
        Protocol: 'ETHERNET',
        A: macText(ints[ib + I_AMAC_HI] as number, ints[ib + I_AMAC_LO] as number),
        B: macText(ints[ib + I_BMAC_HI] as number, ints[ib + I_BMAC_LO] as number),
        ID: nums[db + D_LINK_ID] as number
      }
    }
    const ipv = ints[ib + I_IPV] as number
    if (ipv !== 0) {
      f.Network = { Protocol: ipv === 4 ? 'IPV4' : 'IPV6', A: this.#ipText(ints, ib + I_AIP, ipv), B: this.#ipText(ints, ib + I_BIP, ipv), ID: nums[db + D_NETWORK_ID] as number }
    }
    const transport = ints[ib + I_TRANSPORT] as number
    if (transport !== 0) {
      f.Transport = { Protocol: transportNames[transport] as FlowProtocol, A: ints[ib + I_TRANSPORT_A] as number, B: ints[ib + I_TRANSPORT_B] as number, ID: 0 }
    }
    const icmpType = ints[ib + I_ICMP_TYPE] as number
    if (icmpType !== 0) {
      const icmp: ICMPLayer = { Type: icmpTypes[icmpType - 1] as ICMPType }
      const code = ints[ib + I_ICMP_CODE] as number
      const id = ints[ib + I_ICMP_ID] as number
      if (code !== 0) icmp.Code = code
      if (id !== 0) icmp.ID = id
      f.ICMP = icmp
    }
    if ((flags & F_LUM) !== 0) {
      const lum: FlowMetric = {
        ABPackets: nums[db + D_LUM] as number,
        ABBytes: nums[db + D_LUM + 1] as number,
        BAPackets: nums[db + D_LUM + 2] as number,
        BABytes: nums[db + D_LUM + 3] as number,
        Start: nums[db + D_LUM + 4] as number,
        Last: nums[db + D_LUM + 5] as number
      }
      const rtt = nums[db + D_LUM + 6] as number
      if (rtt !== 0) lum.RTT = rtt
      f.LastUpdateMetric = lum
    }
    const start = this.#epoch + (nums[db + D_START] as number)
    const last = this.#epoch + (recD[rd + RD_LAST] as number)
    const metric: FlowMetric = {
      ABPackets: recD[rd + RD_AB_PACKETS] as number,
      ABBytes: recD[rd + RD_AB_BYTES] as number,
      BAPackets: recD[rd + RD_BA_PACKETS] as number,
      BABytes: recD[rd + RD_BA_BYTES] as number,
      Start: start,
      Last: last
    }
    const rtt = nums[db + D_RTT] as number
    if (rtt !== 0) metric.RTT = rtt
    f.Metric = metric
    if ((flags & F_TCP) !== 0) {
      const m = this.#tcp
      const t = slot * T_STRIDE
      const tcp: TCPMetric = { ABSynStart: m[t] as number, BASynStart: m[t + 1] as number, ABFinStart: m[t + 2] as number, BAFinStart: m[t + 3] as number, ABRstStart: m[t + 4] as number, BARstStart: m[t + 5] as number }
      // A TTL of 0 is left out, as one never seen; the two keep the order they were first set in.
      const abTtl = (flags & F_SYN_TTL_AB) !== 0 ? ints[ib + I_SYN_TTL_AB] as number : 0
      const baTtl = (flags & F_SYN_TTL_BA) !== 0 ? ints[ib + I_SYN_TTL_BA] as number : 0
      if ((flags & F_SYN_TTL_BA_FIRST) !== 0 && baTtl !== 0) tcp.BASynTTL = baTtl
      if (abTtl !== 0) tcp.ABSynTTL = abTtl
      if ((flags & F_SYN_TTL_BA_FIRST) === 0 && baTtl !== 0) tcp.BASynTTL = baTtl
      f.TCPMetric = tcp
    }
    f.Start = start
    f.Last = last
    f.TrackingID = hex64(ints[ib + I_TRACKING] as number, ints[ib + I_TRACKING + 1] as number)
    f.L3TrackingID = hex64(ints[ib + I_L3_TRACKING] as number, ints[ib + I_L3_TRACKING + 1] as number)
    f.ParentUUID = (flags & F_PARENT) !== 0 ? hex64(ints[ib + I_PARENT_UUID] as number, ints[ib + I_PARENT_UUID + 1] as number) : ''
    if (this.nodeTID !== '') f.NodeTID = this.nodeTID
    if (this.captureID !== '') f.CaptureID = this.captureID
    f.RawPacketsCaptured = 0
    const finish = rec[r + R_FINISH] as FinishTypeValue
    if (finish !== FinishType.NOT_FINISHED) f.FinishType = finish
    if ((ints[ib + I_CID_PROTO] as number) >= 0) f.CommunityID = this.#communityId(ints, ib, flags)
    f.SamplingRate = this.samplingRate
    return f as Flow
  }

  #ipText (ints: Int32Array, at: number, version: number): string {
    const b = this.#addrA
    putI32(b, 0, ints[at] as number)
    if (version === 4) return formatIPv4(b, 0)
    putI32(b, 4, ints[at + 1] as number); putI32(b, 8, ints[at + 2] as number); putI32(b, 12, ints[at + 3] as number)
    return formatIPv6(b, 0)
  }

  #communityId (ints: Int32Array, ib: number, flags: number): string {
    const v4 = ints[ib + I_IPV] === 4
    const a = v4 ? this.#addrA4 : this.#addrA
    const b = v4 ? this.#addrB4 : this.#addrB
    for (let w = 0; w < (v4 ? 1 : 4); w++) {
      putI32(a, 4 * w, ints[ib + I_AIP + w] as number)
      putI32(b, 4 * w, ints[ib + I_BIP + w] as number)
    }
    const sport = ints[ib + I_CID_SPORT] as number
    const dport = ints[ib + I_CID_DPORT] as number
    return communityId({
      proto: ints[ib + I_CID_PROTO] as number,
      saddr: a,
      daddr: b,
      sport: sport < 0 ? undefined : sport,
      dport: dport < 0 ? undefined : dport,
      oneWay: (flags & F_CID_ONE_WAY) !== 0,
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

/** `aa:bb:cc:dd:ee:ff` of a MAC kept as macHi/macLo, as one flat string. */
function macText (hi: number, lo: number): string {
  const c = hexChars
  return String.fromCharCode(
    c[(hi >>> 28) & 15] as number, c[(hi >>> 24) & 15] as number, 58, c[(hi >>> 20) & 15] as number, c[(hi >>> 16) & 15] as number, 58,
    c[(hi >>> 12) & 15] as number, c[(hi >>> 8) & 15] as number, 58, c[(hi >>> 4) & 15] as number, c[hi & 15] as number, 58,
    c[(lo >>> 12) & 15] as number, c[(lo >>> 8) & 15] as number, 58, c[(lo >>> 4) & 15] as number, c[lo & 15] as number)
}

function macLo (d: Uint8Array, i: number): number {
  return ((d[i + 4] as number) << 8) | (d[i + 5] as number)
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

