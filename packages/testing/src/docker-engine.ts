import { existsSync } from 'node:fs'
import { request } from 'node:http'
import { homedir } from 'node:os'
import { join } from 'node:path'

/** Where a Docker engine may listen: a unix socket, or host:port for DOCKER_HOST=tcp://... */
export type DockerEndpoint = { socketPath: string } | { host: string, port: number }

/** The endpoints to try, in the order testcontainers itself would: DOCKER_HOST, then the usual sockets. */
export function dockerEndpoints (env: NodeJS.ProcessEnv): DockerEndpoint[] {
  const dockerHost = env.DOCKER_HOST?.trim()
  if (dockerHost !== undefined && dockerHost !== '') {
    if (dockerHost.startsWith('unix://')) return [{ socketPath: dockerHost.slice('unix://'.length) }]
    const tcp = /^tcp:\/\/([^:/]+):(\d+)\/?$/.exec(dockerHost)
    if (tcp !== null) return [{ host: tcp[1]!, port: Number(tcp[2]) }]
    return []
  }
  const sockets = ['/var/run/docker.sock']
  if (env.XDG_RUNTIME_DIR !== undefined) sockets.push(join(env.XDG_RUNTIME_DIR, 'docker.sock'))
  sockets.push(join(env.HOME ?? homedir(), '.docker', 'run', 'docker.sock'))
  return sockets.map((socketPath) => ({ socketPath }))
}

export function describeEndpoint (endpoint: DockerEndpoint): string {
  return 'socketPath' in endpoint ? `unix://${endpoint.socketPath}` : `tcp://${endpoint.host}:${endpoint.port}`
}

/** Asks the engine's /_ping; true only for an engine that answers OK within `timeoutMs`. */
export async function dockerPing (endpoint: DockerEndpoint, timeoutMs = 1000): Promise<boolean> {
  if ('socketPath' in endpoint && !existsSync(endpoint.socketPath)) return false
  return await new Promise<boolean>((resolve) => {
    const req = request({ ...endpoint, path: '/_ping', method: 'GET', timeout: timeoutMs }, (res) => {
      let body = ''
      res.setEncoding('utf8')
      res.on('data', (chunk: string) => { body += chunk })
      res.on('end', () => { resolve(res.statusCode === 200 && body.trim() === 'OK') })
      res.on('error', () => { resolve(false) })
    })
    req.on('timeout', () => { req.destroy(); resolve(false) })
    req.on('error', () => { resolve(false) })
    req.end()
  })
}

/** The first endpoint whose engine answers, or undefined; checks take at most `timeoutMs` each. */
export async function findDockerEngine (env: NodeJS.ProcessEnv, timeoutMs = 1000): Promise<DockerEndpoint | undefined> {
  for (const endpoint of dockerEndpoints(env)) {
    if (await dockerPing(endpoint, timeoutMs)) return endpoint
  }
  return undefined
}
