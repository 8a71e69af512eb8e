import type { ChangeRecord } from '../graph/store.ts'
import { historyWrites, type TopologyDocument } from './documents.ts'

/** Where the graph's history goes. `write` resolves once the batch is durable (offsets commit after it). */
export interface HistorySink {
  write(records: readonly ChangeRecord[]): Promise<void>
  close?(): Promise<void>
}

/**
 * History kept in memory, for tests and the all-in-one mode: the same live/archive split as the
 * OpenSearch indices, plus the point-in-time read the API does against them.
 */
export class MemoryHistorySink implements HistorySink {
  readonly live = new Map<string, TopologyDocument>()
  readonly archive = new Map<string, TopologyDocument>()
  writes = 0

  async write (records: readonly ChangeRecord[]): Promise<void> {
    const { live, archive } = historyWrites(records)
    for (const [id, doc] of archive) this.archive.set(id, doc)
    for (const [id, doc] of live) {
      if (doc === null) this.live.delete(id)
      else this.live.set(id, doc)
    }
    this.writes++
  }

  /** Every element alive at `time`, in the revision it had then (Skydive's `G.At(time)`). */
  at (time: number): TopologyDocument[] {
    const best = new Map<string, TopologyDocument>()
    const consider = (doc: TopologyDocument, end: number): void => {
      if (doc.UpdatedAt > time || time >= end) return
      const seen = best.get(doc.ID)
      if (seen === undefined || doc.UpdatedAt > seen.UpdatedAt || (doc.UpdatedAt === seen.UpdatedAt && doc.Revision > seen.Revision)) best.set(doc.ID, doc)
    }
    for (const doc of this.archive.values()) consider(doc, doc.ArchivedAt ?? Infinity)
    for (const doc of this.live.values()) consider(doc, Infinity)
    return [...best.values()]
  }
}
