import { topologyDocument } from '@topoflow/opensearch'
import type { ChangeRecord, Element } from '../graph/store.ts'

/** A revision as stored in the topology indices. */
export interface TopologyDocument extends Record<string, unknown> {
  ID: string
  ElementType: 'node' | 'edge'
  Revision: number
  CreatedAt: number
  UpdatedAt: number
  DeletedAt: number | null
  ArchivedAt?: number | null
}

export interface HistoryWrite {
  /** current revision per element ID; `null` removes it (the element was deleted) */
  live: Map<string, TopologyDocument | null>
  /** revisions that stopped being current, with `ArchivedAt`, by archive document ID */
  archive: Map<string, TopologyDocument>
}

/** The document shape the API reads back (`@topoflow/opensearch` topologyDocument): Metadata plus typed `Meta.*`. */
export function toDocument (type: 'node' | 'edge', el: Element): TopologyDocument {
  return topologyDocument({ ...el, DeletedAt: el.DeletedAt ?? null } as never, type) as TopologyDocument
}

/**
 * `_id` of an archived revision. CreatedAt tells apart two lives of the same element ID (deleted, then
 * made again with Revision 1), so no revision ever overwrites another.
 */
export function archiveId (el: Element): string {
  return `${el.ID}_${el.CreatedAt}_${el.Revision}`
}

/**
 * What a batch of changes does to the indices: the live index keeps the last revision of each element
 * (or loses it on delete); the archive gets each superseded revision with ArchivedAt = when the next
 * one was made, and each deleted element's last revision with ArchivedAt = DeletedAt.
 */
export function historyWrites (records: readonly ChangeRecord[]): HistoryWrite {
  const live = new Map<string, TopologyDocument | null>()
  const archive = new Map<string, TopologyDocument>()
  for (const { change, previous } of records) {
    const type = change.ElementType
    const el = type === 'node' ? change.Node : change.Edge
    if (el === undefined || el === null) continue
    if (change.Op === 'delete') {
      const deletedAt = el.DeletedAt ?? change.Time
      archive.set(archiveId(el), { ...toDocument(type, { ...el, DeletedAt: deletedAt }), ArchivedAt: deletedAt })
      live.set(el.ID, null)
      continue
    }
    if (previous !== undefined) {
      archive.set(archiveId(previous), { ...toDocument(type, previous), ArchivedAt: el.UpdatedAt })
    }
    live.set(el.ID, toDocument(type, el))
  }
  return { live, archive }
}
