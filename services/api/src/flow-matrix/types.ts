/** One entry of a host's `Sockets` metadata, as the socketinfo probe writes it (flat, ports as numbers). */
export interface MatrixSocket {
  Protocol: string
  LocalAddress: string
  LocalPort: number
  RemoteAddress: string
  RemotePort: number
  State: string
  Process?: string
  Name?: string
  Pid?: number
}

/** What the matrix needs of a host node: its `Host` and its socket table. */
export interface MatrixHost {
  Host: string
  Sockets: MatrixSocket[]
}

/** One row of skydive-flow-matrix's CSV. */
export interface MatrixEntry {
  protocol: string
  server: string
  serverIp: string
  port: number
  serverProc: string
  serverProcName: string
  client: string
  clientIp: string
  clientProc: string
  clientProcName: string
}

/** A connection whose server side was not found (skydive-flow-matrix's `--list-no-peers`). */
export interface UnknownConnection {
  host: string
  socket: MatrixSocket
}

export interface MatrixResult {
  entries: MatrixEntry[]
  unknown: UnknownConnection[]
}

/** Resolves an IP address to the host node owning an interface with that address. */
export type HostLookup = (address: string) => Promise<MatrixHost | undefined>

/** Runs a Gremlin query and returns the parsed JSON result (locally or through the REST API). */
export type GremlinLookup = (query: string) => Promise<unknown>

export interface MatrixOptions {
  /** Gremlin time: '-10m', an RFC1123 date or epoch seconds/ms; empty for live. */
  at?: string
  /** window in seconds before `at`; 0 = point in time */
  duration?: number
  useFlows?: boolean
}

export const csvHeader = 'protocol,server,server_ip,port,server_proc,server_procname,client,client_ip,client_proc,client_procname'
