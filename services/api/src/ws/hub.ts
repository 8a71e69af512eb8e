import type { WebSocket } from 'ws'
import { setOwn } from '@topoflow/core'

/** Skydive's ConnStatus, as /api/status lists publishers and subscribers. */
export interface ConnStatus {
  ServiceType: string
  ClientProtocol: 'json'
  Addr: string
  Port: number
  IsConnected: boolean
  /** RFC 3339 */
  ConnectTime: string
  RemoteHost: string
  RemoteServiceType: string
}

export interface WsClient {
  hostId: string
  clientType: string
  addr: string
  port: number
  connectedAt: number
  socket: WebSocket
  send(msg: unknown): void
}

/** Above this many bytes queued for one client, the client is too slow and is disconnected. */
export const maxBufferedBytes = 32 * 1024 * 1024

/** Sends a JSON message unless the socket is closed; drops clients that stop reading. */
export function sendJson (socket: WebSocket, msg: unknown): void {
  if (socket.readyState !== socket.OPEN) return
  if (socket.bufferedAmount > maxBufferedBytes) {
    socket.close(1013, 'client too slow')
    return
  }
  socket.send(JSON.stringify(msg))
}

/** The connected websocket clients, per endpoint, keyed by X-Host-ID (a second one with the same ID gets 409). */
export class WsHub {
  readonly subscribers = new Map<string, WsClient>()
  readonly publishers = new Map<string, WsClient>()

  status (map: Map<string, WsClient>, serviceType: string): Record<string, ConnStatus> {
    const out: Record<string, ConnStatus> = {}
    for (const [id, c] of map) {
      setOwn(out, id, {
        ServiceType: serviceType,
        ClientProtocol: 'json',
        Addr: c.addr,
        Port: c.port,
        IsConnected: c.socket.readyState === c.socket.OPEN,
        ConnectTime: new Date(c.connectedAt).toISOString(),
        RemoteHost: c.hostId,
        RemoteServiceType: c.clientType
      })
    }
    return out
  }

  broadcast (msg: unknown): void {
    for (const c of this.subscribers.values()) c.send(msg)
  }

  closeAll (): void {
    for (const c of [...this.subscribers.values(), ...this.publishers.values()]) c.socket.close(1001, 'server shutting down')
  }
}
