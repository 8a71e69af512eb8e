import { randomUUID } from 'node:crypto'

/** Skydive's websocket envelope (JSON form). Replies reuse the request's UUID. */
export interface WsMessage {
  Namespace: string
  Type: string
  UUID?: string
  Status?: number
  Obj?: unknown
}

export function message (namespace: string, type: string, obj: unknown, status = 200, uuid: string = randomUUID().replaceAll('-', '')): WsMessage {
  return { Namespace: namespace, Type: type, UUID: uuid, Status: status, Obj: obj }
}

export function reply (to: WsMessage, type: string, obj: unknown, status = 200): WsMessage {
  return message(to.Namespace, type, obj, status, to.UUID ?? randomUUID().replaceAll('-', ''))
}

/** Parses one text frame; undefined when it is not a Skydive envelope. */
export function parseMessage (data: unknown): WsMessage | undefined {
  let text: string
  if (typeof data === 'string') text = data
  else if (Buffer.isBuffer(data)) text = data.toString('utf8')
  else if (Array.isArray(data)) text = Buffer.concat(data as Buffer[]).toString('utf8')
  else if (data instanceof ArrayBuffer) text = Buffer.from(data).toString('utf8')
  else return undefined
  try {
    const m: unknown = JSON.parse(text)
    if (typeof m !== 'object' || m === null) return undefined
    const msg = m as Record<string, unknown>
    if (typeof msg.Namespace !== 'string' || typeof msg.Type !== 'string') return undefined
    return msg as unknown as WsMessage
  } catch {
    return undefined
  }
}

/** Handshake parameters: a header, or the same name lowercased as a query parameter (graffiti does both). */
export function handshakeParam (headers: Record<string, string | string[] | undefined>, query: unknown, name: string): string | undefined {
  const h = headers[name.toLowerCase()]
  if (typeof h === 'string' && h !== '') return h
  const q = (query as Record<string, unknown> | undefined)?.[name.toLowerCase()]
  return typeof q === 'string' && q !== '' ? q : undefined
}
