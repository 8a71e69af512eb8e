import { availableParallelism, hostname as osHostname, release as osRelease } from 'node:os'
import { jsonEqual, partLogger, TopoflowError, type Logger } from '@topoflow/core'
import { diffSnapshot, emptyGraph, hostSyncEvent, type EventContext } from './diff.ts'
import { errorCode, nodeFsReader, type FsReader } from './fs-reader.ts'
import { buildSnapshot, SnapshotCache, type NamespaceState } from './graph.ts'
import { readHostFacts, hostMetadata } from './host.ts'
import { interfaceNodeId } from './ids.ts'
import { IpSessionPool } from './ip-session.ts'
import { linkCounters } from './interfaces.ts'
import { defaultNameMaps, parseIdNameFile, type NameMaps } from './ip-json.ts'
import { firstMetric, refreshMetric, type MetricState } from './metrics.ts'
import { readNamespace } from './namespace-reader.ts'
import { defaultNetnsDirs, discoverNamespaces, ProcessNamespaces, ProcessScanGate } from './netns.ts'
import { execRunner, type CommandRunner } from './runner.ts'
import { SocketWatcher } from './socket-watch.ts'
import type { Metadata, NamespaceInfo, PublishedGraph, SocketInfo, SocketsEvent, TopologyEvent } from './types.ts'
import { mapLimit } from './util.ts'
import { monitorCommand, spawnMonitor, watchNetnsDirs, watchOwnNamespace, type MonitorProcess, type Watch } from './watchers.ts'

/** Timings of the agent, all in ms. */
export interface TopologyIntervals {
  /** Quiet time after a change notification before the namespace is re-read. */
  debounce: number
  /**
   * Metrics refresh and re-read of the namespaces no live watch covers. A namespace whose `ip monitor`
   * (or, for the agent's own, rtnetlink subscription) runs is re-read then only if its counters moved.
   */
  resync: number
  /** Longest time a watched namespace goes without a re-read: the safety net for missed notifications. */
  watchedResync: number
  /** Socket table refresh (skipped while the namespaces' socket counters stand still). */
  sockets: number
  /** Longest time between two socket scans that read every table, whatever the counters say. */
  socketsFullScan: number
  /**
   * Least time between two socket scans asked for by connections that open ({@link TopologyAgent.requestSocketScan});
   * 0 turns those scans off.
   */
  socketsOnConnect: number
  /** Wait between a connection opening and its scan: the handshake completes, and a burst of connections shares one scan. */
  socketsOnConnectDelay: number
  /**
   * Scan of /proc for anonymous namespaces (named ones are watched), skipped while no process started
   * or ended since the last one; the resync scans anyway.
   */
  namespaceScan: number
  /** Delay before restarting an `ip monitor` that exited, or retrying a failed publish. */
  retry: number
}

/** Namespaces re-read per pass after their monitors started (see `recheck`). */
const recheckBatch = 32

export const defaultIntervals: TopologyIntervals = {
  debounce: 100,
  resync: 30_000,
  watchedResync: 300_000,
  sockets: 5_000,
  socketsFullScan: 60_000,
  socketsOnConnect: 500,
  socketsOnConnectDelay: 20,
  namespaceScan: 5_000,
  retry: 1_000
}

export interface TopologyAgentOptions {
  /** Host id: the host node's Name and every element's Host. Default: the hostname. */
  hostId?: string
  logger: Logger
  /** Receives topology events in order; a rejection makes the agent send a full HostSync later. */
  publish: (event: TopologyEvent) => void | Promise<void>
  /** Receives the socket table of the host every `intervals.sockets`, and when a connection scan finds it changed ({@link TopologyAgent.requestSocketScan}). */
  publishSockets?: (event: SocketsEvent) => void | Promise<void>
  now?: () => number
  intervals?: Partial<TopologyIntervals>
  /** Element Origin. Default `agent.<hostId>`, what Skydive agents write. */
  origin?: string
  /** Operator metadata merged into the host node (Skydive's `agent.metadata`). */
  metadata?: Metadata
  netnsDirs?: readonly string[]
  procDir?: string
  sysDir?: string
  ipPath?: string
  nsenterPath?: string
  /** Use rtnetlink (the `netlink` package) for the host namespace; false = `ip monitor` there too. */
  useNetlink?: boolean
  /** Namespaces read in parallel. Default: the number of CPUs. */
  concurrency?: number
  /** Subscribe to change notifications and run the periodic timers; false = only {@link TopologyAgent.resync}. */
  watchChanges?: boolean
  fs?: FsReader
  runner?: CommandRunner
}

export interface TopologyAgentStats {
  namespaces: number
  interfaces: number
  nodes: number
  edges: number
  sockets: number
  eventsPublished: number
  hostSyncs: number
  resyncs: number
  errors: number
  publishErrors: number
  namespaceReadErrors: number
  skippedProcEntries: number
  unresolvedLinks: number
  monitors: number
  /** Long-lived `ip -batch` processes namespaces are read through. */
  ipSessions: number
  /** Socket scans run because a capture saw a TCP connection open. */
  socketScansOnConnect: number
}

/**
 * The topology probe of the capture service: discovers the host, its namespaces, interfaces and
 * sockets, publishes a HostSync on start and afterwards only the deltas, within about a second of
 * a change (rtnetlink / `ip monitor` triggers), with a periodic full resync as safety net.
 */
export class TopologyAgent {
  readonly hostId: string
  readonly origin: string
  private readonly logger: Logger
  private readonly publishEvent: (event: TopologyEvent) => void | Promise<void>
  private readonly publishSocketsEvent: ((event: SocketsEvent) => void | Promise<void>) | undefined
  private readonly now: () => number
  private readonly intervals: TopologyIntervals
  private readonly opts: TopologyAgentOptions
  private readonly fs: FsReader
  private readonly runner: CommandRunner
  /** Namespace reads through one long-lived `ip` per namespace; undefined when a runner was given or nothing is watched. */
  private readonly sessions: IpSessionPool | undefined
  private readonly socketWatcher: SocketWatcher
  private readonly scanGate: ProcessScanGate
  /** The namespaces of the host's processes, looked up again only for new processes but at resyncs. */
  private readonly processes: ProcessNamespaces

  private started = false
  private closed = false
  private names: NameMaps = defaultNameMaps
  private hostMeta: Metadata = {}
  private sockets: SocketInfo[] | undefined
  private readonly discovered = new Map<string, NamespaceInfo>()
  private readonly states = new Map<string, NamespaceState>()
  private readonly metrics = new Map<string, MetricState>()
  /** Namespace key → the state its interfaces' metrics were last taken from, whether refreshed from it, and their IDs. */
  private readonly metricSources = new Map<string, { state: NamespaceState, refreshed: boolean, ids: Set<string> }>()
  private published: PublishedGraph = emptyGraph()
  private readonly snapshotCache = new SnapshotCache()
  private needHostSync = true
  /** Something read since the last diff may differ from what was published: building the graph is worth it. */
  private stale = true

  private readonly dirty = new Set<string>()
  /** Namespaces to read again because their monitor just started: a batch per pass, so that a notified change need not wait for them all. */
  private readonly recheck = new Set<string>()
  private discoverPending = true
  /** Re-read on the next cycle: every namespace, or (periodic resync) those whose watch cannot vouch for them. */
  private resyncPending: 'none' | 'periodic' | 'all' = 'all'
  /** Namespace key → when it was last read, and its interface counters (/proc/<pid>/net/dev) just before. */
  private readonly lastRead = new Map<string, number>()
  private readonly lastCounters = new Map<string, string>()
  private cycleTimer: NodeJS.Timeout | undefined
  private running: Promise<void> | undefined
  private rerun = false
  private readonly timers: NodeJS.Timeout[] = []
  private socketScan: Promise<void> | undefined
  private initialSocketScan: Promise<void> | undefined
  /** A connection asked for a scan that has not started yet: later requests join it. */
  private connectScanPending = false
  private connectScanTimer: NodeJS.Timeout | undefined
  /** When the last scan asked for by a connection started (agent clock). */
  private lastConnectScan = -Infinity
  private monitorTask: Promise<void> | undefined
  private watching = false

  private readonly monitors = new Map<string, MonitorProcess>()
  private readonly monitorSpawnedAt = new Map<string, number>()
  private readonly childPids = new Set<number>()
  private ownWatch: Watch | undefined
  private dirWatch: Watch | undefined

  private readonly counters = {
    eventsPublished: 0,
    hostSyncs: 0,
    resyncs: 0,
    errors: 0,
    publishErrors: 0,
    namespaceReadErrors: 0,
    skippedProcEntries: 0,
    unresolvedLinks: 0,
    socketScansOnConnect: 0
  }

  constructor (opts: TopologyAgentOptions) {
    this.opts = opts
    this.hostId = opts.hostId ?? osHostname()
    if (this.hostId === '') throw new TopoflowError('TOPOFLOW_ERR_CONFIG', 'Expected a non-empty host id for the topology agent, got an empty string')
    this.origin = opts.origin ?? `agent.${this.hostId}`
    this.logger = partLogger(opts.logger, 'topology')
    this.publishEvent = opts.publish
    this.publishSocketsEvent = opts.publishSockets
    this.now = opts.now ?? Date.now
    this.intervals = { ...defaultIntervals, ...opts.intervals }
    for (const [k, v] of Object.entries(this.intervals)) {
      if (!Number.isFinite(v) || v < 0) throw new TopoflowError('TOPOFLOW_ERR_CONFIG', `Expected intervals.${k} to be a non-negative number of ms, got ${String(v)}`)
    }
    this.fs = opts.fs ?? nodeFsReader
    this.runner = opts.runner ?? execRunner
    // A session holds its namespace open until the agent closes it: only for agents that run and close.
    this.sessions = opts.runner === undefined && opts.watchChanges !== false
      ? new IpSessionPool({ onSpawn: pid => this.childPids.add(pid), onExit: pid => this.childPids.delete(pid) })
      : undefined
    this.scanGate = new ProcessScanGate(this.fs, opts.procDir)
    this.processes = new ProcessNamespaces(this.fs, opts.procDir)
    this.socketWatcher = new SocketWatcher(this.fs, {
      ...(opts.procDir === undefined ? {} : { procDir: opts.procDir }),
      excludePids: this.childPids,
      fullScanMs: this.intervals.socketsFullScan,
      now: this.now
    })
  }

  /** Starts watching, discovers everything and publishes the first HostSync. */
  async start (): Promise<void> {
    if (this.started || this.closed) return
    this.started = true
    this.names = await this.readNameMaps()
    this.hostMeta = hostMetadata(await readHostFacts(this.fs, {
      hostname: osHostname(),
      kernelRelease: osRelease(),
      ...(this.opts.metadata === undefined ? {} : { operator: this.opts.metadata })
    }))
    // Watch before the first read so that no change slips between reading and subscribing.
    this.startWatching()
    // The socket scan runs beside the namespace reads; the first HostSync waits for both.
    this.initialSocketScan = this.scanSocketsOnce(false)
    await this.cycle()
    this.logger.info({ hostId: this.hostId, ...this.stats() }, 'Topology agent started')
  }

  async close (): Promise<void> {
    if (this.closed) return
    this.closed = true
    if (this.cycleTimer !== undefined) clearTimeout(this.cycleTimer)
    if (this.connectScanTimer !== undefined) clearTimeout(this.connectScanTimer)
    for (const t of this.timers) clearInterval(t)
    this.ownWatch?.close()
    this.dirWatch?.close()
    await this.monitorTask
    for (const m of this.monitors.values()) m.close()
    this.monitors.clear()
    await this.running
    await this.socketScan
    this.sessions?.close()
    if (this.started) this.logger.info('Topology agent closed')
  }

  /** Re-reads everything now and publishes the differences; resolves once they are published. */
  async resync (): Promise<void> {
    if (!this.started || this.closed) return
    this.resyncPending = 'all'
    this.discoverPending = true
    await this.cycle()
  }

  /** Asks for a full HostSync on the next cycle, e.g. after the bus reconnected. */
  requestHostSync (): void {
    this.needHostSync = true
    this.schedule(0)
  }

  /**
   * A TCP connection just opened on this host (a capture saw its SYN or SYN-ACK): scan the socket
   * tables soon, so that a connection shorter than the periodic scan still shows up with its process.
   * The scan runs `socketsOnConnectDelay` later, shared by every request until it starts, and at
   * least `socketsOnConnect` after the previous one such scan; a scan under way is waited for, since
   * it may have read the tables before the connection existed. The table is published only if it
   * changed. Cheap to call per packet; never throws.
   */
  requestSocketScan (): void {
    if (this.connectScanPending || this.intervals.socketsOnConnect === 0 || !this.started || this.closed) return
    try {
      this.connectScanPending = true
      const wait = Math.max(this.intervals.socketsOnConnectDelay, this.lastConnectScan + this.intervals.socketsOnConnect - this.now())
      this.connectScanTimer = setTimeout(() => {
        this.connectScanTimer = undefined
        void this.scanForConnection()
      }, wait)
      this.connectScanTimer.unref?.()
    } catch (err) {
      this.connectScanPending = false
      this.counters.errors++
      this.logger.warn({ err }, 'Cannot schedule a socket scan for a new connection')
    }
  }

  private async scanForConnection (): Promise<void> {
    // A scan under way may have read the tables before the connection existed: this one follows it.
    while (this.socketScan !== undefined) await this.socketScan.catch(() => {})
    // A connection that opens from now on needs a scan of its own: this one may read the tables before it exists.
    this.connectScanPending = false
    if (this.closed) return
    try {
      this.lastConnectScan = this.now()
      this.counters.socketScansOnConnect++
      // The host node takes the new table at the next periodic scan (or any cycle before) rather than
      // now: connections may open many times a second, and each host node revision is archived.
      await this.scanSocketsOnce(false, true)
    } catch (err) {
      this.counters.errors++
      this.logger.warn({ err }, 'Socket scan for a new connection failed')
    }
  }

  /** Current graph as published (or to be published): for tests and the all-in-one API. */
  graph (): PublishedGraph {
    return this.published
  }

  stats (): TopologyAgentStats {
    let interfaces = 0
    for (const s of this.states.values()) interfaces += s.dump.links.length
    return {
      namespaces: this.discovered.size,
      interfaces,
      nodes: this.published.nodes.size,
      edges: this.published.edges.size,
      sockets: this.sockets?.length ?? 0,
      monitors: this.monitors.size,
      ipSessions: this.sessions?.size ?? 0,
      ...this.counters
    }
  }

  private async readNameMaps (): Promise<NameMaps> {
    const read = async (path: string): Promise<Record<string, number>> => {
      try {
        return parseIdNameFile(await this.fs.readFile(path))
      } catch {
        return {}
      }
    }
    return {
      tables: { ...defaultNameMaps.tables, ...await read('/etc/iproute2/rt_tables') },
      protocols: { ...defaultNameMaps.protocols, ...await read('/etc/iproute2/rt_protos') }
    }
  }

  private startWatching (): void {
    if (this.closed || this.opts.watchChanges === false) return
    this.watching = true
    const i = this.intervals
    this.timers.push(setInterval(() => {
      this.counters.resyncs++
      if (this.resyncPending === 'none') this.resyncPending = 'periodic'
      this.discoverPending = true
      this.schedule(0)
    }, i.resync))
    this.timers.push(setInterval(() => { void this.namespaceTick() }, i.namespaceScan))
    this.timers.push(setInterval(() => { void this.scanSocketsOnce(true) }, i.sockets))
    for (const t of this.timers) t.unref()
    this.dirWatch = watchNetnsDirs(this.opts.netnsDirs ?? defaultNetnsDirs, () => {
      this.discoverPending = true
      this.schedule(i.debounce)
    }, this.logger)
  }

  private async namespaceTick (): Promise<void> {
    if (this.closed || !await this.scanGate.worthScanning()) return
    this.discoverPending = true
    this.schedule(0)
  }

  /** Marks a namespace for re-reading after the debounce delay. */
  private touch (key: string): void {
    this.dirty.add(key)
    this.schedule(this.intervals.debounce)
  }

  private schedule (delay: number): void {
    if (this.closed || !this.started) return
    if (this.cycleTimer !== undefined) return
    this.cycleTimer = setTimeout(() => {
      this.cycleTimer = undefined
      void this.cycle()
    }, delay)
  }

  /** Runs one discovery/read/diff/publish pass; passes never overlap, a request during one reruns it. */
  private async cycle (): Promise<void> {
    if (this.running !== undefined) {
      this.rerun = true
      return await this.running
    }
    this.running = (async () => {
      do {
        this.rerun = false
        try {
          await this.cycleOnce()
        } catch (err) {
          this.counters.errors++
          this.logger.warn({ err }, 'Topology refresh failed')
        }
      } while (this.rerun && !this.closed)
    })()
    try {
      await this.running
    } finally {
      this.running = undefined
    }
  }

  private async cycleOnce (): Promise<void> {
    if (this.closed) return
    const t0 = Date.now()
    const resync = this.resyncPending
    this.resyncPending = 'none'
    const full = resync !== 'none'
    if (this.discoverPending) {
      this.discoverPending = false
      await this.discover(full)
      if (this.watching) this.watchOwn()
    }
    const t1 = Date.now()
    const rechecks = resync === 'all' ? [...this.recheck] : [...this.recheck].slice(0, recheckBatch)
    for (const key of rechecks) this.recheck.delete(key)
    const keys = resync === 'all'
      ? [...this.discovered.keys()]
      : [...new Set([...this.dirty, ...(resync === 'periodic' ? await this.unvouchedNamespaces() : []), ...rechecks])].filter(k => this.discovered.has(k))
    this.dirty.clear()
    await this.readNamespaces(keys)
    this.updateMetrics(full)
    const t2 = Date.now()
    if (this.initialSocketScan !== undefined) {
      await this.initialSocketScan
      this.initialSocketScan = undefined
    }
    const published = await this.publishChanges()
    this.ensureMonitors()
    if (this.recheck.size > 0) this.rerun = true
    this.logger.debug({ resync, read: keys.length, published, discoverMs: t1 - t0, readMs: t2 - t1, totalMs: Date.now() - t0 }, 'Topology refreshed')
  }

  /** `full`: every process looked at again, not only new ones. */
  private async discover (full: boolean): Promise<void> {
    await this.scanGate.scanning()
    const result = await discoverNamespaces(this.fs, {
      netnsDirs: this.opts.netnsDirs ?? defaultNetnsDirs,
      ...(this.opts.procDir === undefined ? {} : { procDir: this.opts.procDir }),
      excludePids: this.childPids,
      processes: this.processes,
      full
    })
    this.counters.skippedProcEntries += result.skipped
    const seen = new Set<string>()
    for (const ns of result.namespaces) {
      seen.add(ns.key)
      const old = this.discovered.get(ns.key)
      // An unchanged namespace keeps its object: long-lived garbage is what costs the collector.
      if (old === undefined || !sameNamespace(old, ns)) this.discovered.set(ns.key, ns)
      if (old === undefined) {
        this.dirty.add(ns.key)
      } else if (old.path !== ns.path || old.name !== ns.name) {
        // Another process now holds an anonymous namespace: same namespace, new path. Its monitor
        // runs inside the namespace and stays valid.
        const state = this.states.get(ns.key)
        if (state !== undefined) this.states.set(ns.key, { ...state, ns })
        this.stale = true
      }
    }
    for (const key of [...this.discovered.keys()]) if (!seen.has(key)) this.forget(key)
  }

  private forget (key: string): void {
    this.discovered.delete(key)
    this.recheck.delete(key)
    this.states.delete(key)
    this.lastRead.delete(key)
    this.lastCounters.delete(key)
    this.stale = true
    this.stopMonitor(key)
    this.sessions?.stop(key)
  }

  private async readNamespaces (keys: string[]): Promise<void> {
    const readOpts = {
      names: this.names,
      ...(this.opts.ipPath === undefined ? {} : { ipPath: this.opts.ipPath }),
      ...(this.opts.nsenterPath === undefined ? {} : { nsenterPath: this.opts.nsenterPath }),
      ...(this.opts.sysDir === undefined ? {} : { sysDir: this.opts.sysDir })
    }
    await mapLimit(keys, this.opts.concurrency ?? availableParallelism(), async (key) => {
      const ns = this.discovered.get(key)
      if (ns === undefined) return
      const runner = this.sessions?.runnerFor(key) ?? this.runner
      for (let attempt = 0; attempt < 2; attempt++) {
        try {
          const previous = this.states.get(key)
          const readAt = this.now()
          // Taken before the read: equal later, nothing the read saw has moved since.
          const counters = await this.interfaceCounters(key, ns)
          const state = await readNamespace(runner, this.fs, ns, { ...readOpts, ...(previous === undefined ? {} : { previous }) })
          this.lastRead.set(key, readAt)
          if (counters === undefined) this.lastCounters.delete(key)
          else this.lastCounters.set(key, counters)
          // Keeping the same object lets the graph build reuse what it made from it last time.
          if (previous !== undefined && sameState(previous, state)) return
          this.states.set(key, state)
          this.stale = true
          return
        } catch (err) {
          if (attempt === 0 && await this.stillThere(ns)) continue
          if (!await this.stillThere(ns)) {
            // Vanished between discovery and reading: drop it now rather than on the next scan.
            this.logger.debug({ netns: ns.path }, 'Namespace vanished while being read')
            this.forget(key)
            return
          }
          this.counters.namespaceReadErrors++
          this.counters.errors++
          this.logger.debug({ err, netns: ns.path }, 'Could not read namespace; keeping its last known state')
          this.dirty.add(key)
          this.schedule(this.intervals.retry)
        }
      }
    })
  }

  /**
   * The namespaces a periodic resync must re-read. One whose change notifications have been flowing
   * since before its last read, read less than `watchedResync` ago, and whose interface counters
   * (/proc/<pid>/net/dev, which sums every counter the metrics keep) did not move since just before
   * that read would read back what the agent already holds, metrics included: it is skipped.
   */
  private async unvouchedNamespaces (): Promise<string[]> {
    const now = this.now()
    const keys: string[] = []
    for (const [key, ns] of this.discovered) {
      const readAt = this.lastRead.get(key)
      const before = this.lastCounters.get(key)
      const pid = this.watchedBy(key, ns, readAt)
      const vouched = pid !== undefined && before !== undefined && readAt !== undefined &&
        now - readAt < this.intervals.watchedResync && this.states.has(key) &&
        await this.readNetDev(pid) === before
      if (!vouched) keys.push(key)
    }
    return keys
  }

  /** /proc/<pid>/net/dev through a process inside the namespace (a session's `ip`, its monitor), if any. */
  private async interfaceCounters (key: string, ns: NamespaceInfo): Promise<string | undefined> {
    const pid = ns.root ? 'self' : this.sessions?.pidOf(key) ?? this.monitors.get(key)?.pid
    return pid === undefined ? undefined : await this.readNetDev(pid)
  }

  private async readNetDev (pid: number | 'self'): Promise<string | undefined> {
    try {
      return await this.fs.readFile(`${this.opts.procDir ?? '/proc'}/${pid}/net/dev`)
    } catch {
      return undefined // the process just ended: read the namespace
    }
  }

  /** A process inside the namespace whose watch has run since before `readAt`: `self` for the agent's own. */
  private watchedBy (key: string, ns: NamespaceInfo, readAt: number | undefined): number | 'self' | undefined {
    if (readAt === undefined) return undefined
    if (ns.root && this.ownWatch !== undefined) return 'self'
    const monitor = this.monitors.get(key)
    const since = this.monitorSpawnedAt.get(key)
    if (monitor?.pid === undefined || since === undefined || since >= readAt) return undefined
    return monitor.pid
  }

  private async stillThere (ns: NamespaceInfo): Promise<boolean> {
    try {
      return (await this.fs.stat(ns.path)).ino === ns.inode
    } catch (err) {
      return errorCode(err) !== 'ENOENT' && errorCode(err) !== 'ESRCH'
    }
  }

  /**
   * Counters enter the metrics when an interface first shows up, and at each refresh (the periodic
   * resync). A namespace whose state object is the one they were last taken from holds the same
   * counters: only those not yet refreshed from it need a look.
   */
  private updateMetrics (refresh: boolean): void {
    const now = this.now()
    for (const [key, state] of this.states) {
      const source = this.metricSources.get(key)
      if (source !== undefined && source.state === state && (source.refreshed || !refresh)) continue
      const ids = new Set<string>()
      for (const link of state.dump.links) {
        const counters = linkCounters(link)
        if (counters === undefined) continue
        const id = interfaceNodeId(this.hostId, state.ns.inode, link.ifIndex)
        ids.add(id)
        const prev = this.metrics.get(id)
        if (prev === undefined) {
          this.metrics.set(id, firstMetric(counters, now))
          this.stale = true
        } else if (refresh) {
          const next = refreshMetric(prev, counters, now)
          if (next !== prev) {
            this.metrics.set(id, next)
            this.stale = true
          }
        }
      }
      if (source !== undefined) this.dropMetrics(source.ids, ids)
      this.metricSources.set(key, { state, refreshed: refresh, ids })
    }
    for (const [key, source] of this.metricSources) {
      if (this.states.has(key)) continue
      this.dropMetrics(source.ids, new Set())
      this.metricSources.delete(key)
    }
  }

  private dropMetrics (ids: Iterable<string>, keep: ReadonlySet<string>): void {
    for (const id of ids) {
      if (keep.has(id) || !this.metrics.delete(id)) continue
      this.stale = true
    }
  }

  /** Diffs and publishes; returns the number of events sent. */
  private async publishChanges (): Promise<number> {
    // Nothing was read and nothing is owed: building and diffing ~1000s of elements for nothing costs CPU.
    if (!this.stale && !this.needHostSync) return 0
    this.stale = false
    const input = {
      hostId: this.hostId,
      hostMetadata: this.hostMeta,
      namespaces: [...this.states.values()],
      metrics: this.metrics,
      ...(this.sockets === undefined ? {} : { sockets: this.sockets })
    }
    const { snapshot, unresolvedLinks } = buildSnapshot(input, this.snapshotCache)
    this.counters.unresolvedLinks = unresolvedLinks
    const ctx: EventContext = { host: this.hostId, origin: this.origin, now: this.now() }
    const { graph, events } = diffSnapshot(this.published, snapshot, ctx)
    this.published = graph
    const toSend = this.needHostSync ? [hostSyncEvent(graph, ctx)] : events
    if (toSend.length === 0) return 0
    const wasSync = this.needHostSync
    this.needHostSync = false
    try {
      for (const event of toSend) {
        await this.publishEvent(event)
        this.counters.eventsPublished++
        if (event.Kind === 'HostSync') this.counters.hostSyncs++
      }
    } catch (err) {
      // Whatever was not sent is folded into a full HostSync once publishing works again.
      this.needHostSync = true
      this.counters.publishErrors++
      this.counters.errors++
      this.logger.warn({ err, hostSync: wasSync }, 'Publishing topology events failed; a host sync will follow')
      this.schedule(this.intervals.retry)
      return 0
    }
    return toSend.length
  }

  /** `onlyIfChanged`: publish the table only when it differs from the last one (scans asked for by connections, which may come often). */
  private async scanSocketsOnce (publishHostNode: boolean, onlyIfChanged = false): Promise<void> {
    if (this.socketScan !== undefined || this.closed) return
    this.socketScan = (async () => {
      try {
        const t0 = Date.now()
        const result = await this.socketWatcher.scan()
        this.logger.debug({ full: result.full, reused: result.reused, walked: result.walked, namespaces: result.namespaces, sockets: result.sockets.length, ms: Date.now() - t0 }, 'Sockets scanned')
        this.counters.skippedProcEntries += result.skippedProcesses
        const changed = this.sockets === undefined || !jsonEqual(this.sockets, result.sockets)
        // An equal table keeps its old array, so that the host node is not rebuilt for it.
        if (changed) { this.sockets = result.sockets; this.stale = true }
        // Also stale without a change here: a connection scan took the new table and left the host node to this one.
        if (this.stale && publishHostNode) this.schedule(0)
        if (this.publishSocketsEvent !== undefined && !this.closed && (changed || !onlyIfChanged)) {
          await this.publishSocketsEvent({ Host: this.hostId, Time: this.now(), Sockets: result.sockets })
        }
      } catch (err) {
        this.counters.errors++
        this.logger.warn({ err }, 'Socket scan failed')
      }
    })()
    try {
      await this.socketScan
    } finally {
      this.socketScan = undefined
    }
  }

  /** rtnetlink for the agent's own namespace: no process to start, so it is set up before the first read. */
  private watchOwn (): void {
    if (this.ownWatch !== undefined || this.opts.useNetlink === false) return
    const root = [...this.discovered.values()].find(ns => ns.root)
    if (root !== undefined) this.ownWatch = watchOwnNamespace(() => this.touch(root.key), this.logger)
  }

  /**
   * Starts an `ip monitor` inside every namespace that has none, in the background: spawning is slow
   * on a busy host (tens of ms each), so it must not delay a publish. A namespace gets re-read once
   * its monitor runs, since a change between its last read and then went unnoticed.
   */
  private ensureMonitors (): void {
    if (this.closed || !this.watching || this.monitorTask !== undefined) return
    if (this.monitors.size + (this.ownWatch === undefined ? 0 : 1) >= this.discovered.size) return
    this.monitorTask = (async () => {
      let started = 0
      // Newest first (nsfs inodes grow): a namespace just made is the one being set up right now.
      const newestFirst = [...this.discovered].sort(([, a], [, b]) => Number(b.root) - Number(a.root) || b.inode - a.inode)
      for (const [key, ns] of newestFirst) {
        if (this.closed) break
        if (!this.discovered.has(key) || this.monitors.has(key) || (ns.root && this.ownWatch !== undefined)) continue
        const last = this.monitorSpawnedAt.get(key)
        if (last !== undefined && this.now() - last < this.intervals.retry) {
          this.discoverPending = true
          this.schedule(this.intervals.retry)
          continue
        }
        this.monitorSpawnedAt.set(key, this.now())
        const monitor = spawnMonitor(monitorCommand(ns, this.opts), () => this.touch(key), (code) => {
          if (monitor.pid !== undefined) this.childPids.delete(monitor.pid)
          if (this.monitors.get(key) === monitor) this.monitors.delete(key)
          this.logger.debug({ netns: ns.path, code }, 'ip monitor exited')
          // The namespace may be gone: let discovery decide, and restart the monitor if not.
          this.discoverPending = true
          this.touch(key)
        })
        if (monitor.pid !== undefined) this.childPids.add(monitor.pid)
        this.monitors.set(key, monitor)
        this.recheck.add(key)
        started++
        await new Promise(resolve => setImmediate(resolve))
      }
      if (started > 0) this.schedule(this.intervals.debounce)
    })().finally(() => { this.monitorTask = undefined })
  }

  private stopMonitor (key: string): void {
    const m = this.monitors.get(key)
    if (m === undefined) return
    m.close()
    if (m.pid !== undefined) this.childPids.delete(m.pid)
    this.monitors.delete(key)
    this.monitorSpawnedAt.delete(key)
  }
}

/** Same ip output (hence the same parsed dump) and the same sysfs facts: nothing to rebuild the graph for. */
function sameState (a: NamespaceState, b: NamespaceState): boolean {
  return a.dump === b.dump && sameNamespace(a.ns, b.ns) && sameMap(a.busDrivers, b.busDrivers) && sameMap(a.speeds, b.speeds)
}

function sameNamespace (a: NamespaceInfo, b: NamespaceInfo): boolean {
  return a.key === b.key && a.path === b.path && a.name === b.name && a.device === b.device && a.named === b.named && a.root === b.root
}

function sameMap<V> (a: ReadonlyMap<number, V>, b: ReadonlyMap<number, V>): boolean {
  if (a.size !== b.size) return false
  for (const [k, v] of a) if (b.get(k) !== v) return false
  return true
}
