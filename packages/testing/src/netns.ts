import { execFileSync, spawn, type ChildProcess } from 'node:child_process'

/** Runs a command, throwing with its stderr when it fails. */
export function sh (cmd: string, args: string[]): string {
  return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] })
}

function shQuiet (cmd: string, args: string[]): void {
  try { sh(cmd, args) } catch { /* cleanup: already gone */ }
}

/**
 * Two network namespaces joined by a veth pair, with IPv4 addresses and IPv6 off (no neighbor
 * discovery noise in the counts). Names carry the pid so parallel runs do not collide.
 */
export class VethPair {
  readonly nsA: string
  readonly nsB: string
  readonly ifA: string
  readonly ifB: string
  readonly ipA: string
  readonly ipB: string
  readonly extraNamespaces: string[] = []

  constructor (tag: string) {
    const id = `${tag}${process.pid % 100000}`
    this.nsA = `tf-${id}-a`
    this.nsB = `tf-${id}-b`
    this.ifA = `${tag}a${process.pid % 100000}`.slice(0, 15)
    this.ifB = `${tag}b${process.pid % 100000}`.slice(0, 15)
    const net = 10 + (process.pid % 200)
    this.ipA = `10.213.${net}.1`
    this.ipB = `10.213.${net}.2`
  }

  netnsPath (ns: string): string { return `/run/netns/${ns}` }

  create (): void {
    this.destroy()
    // Also when a later step throws, after() removes what was made.
    sh('ip', ['netns', 'add', this.nsA])
    sh('ip', ['netns', 'add', this.nsB])
    sh('ip', ['link', 'add', this.ifA, 'netns', this.nsA, 'type', 'veth', 'peer', 'name', this.ifB, 'netns', this.nsB])
    for (const [ns, ifc, ip] of [[this.nsA, this.ifA, this.ipA], [this.nsB, this.ifB, this.ipB]] as const) {
      sh('ip', ['netns', 'exec', ns, 'sysctl', '-qw', `net.ipv6.conf.${ifc}.disable_ipv6=1`])
      sh('ip', ['-n', ns, 'addr', 'add', `${ip}/24`, 'dev', ifc])
      sh('ip', ['-n', ns, 'link', 'set', ifc, 'up'])
      sh('ip', ['-n', ns, 'link', 'set', 'lo', 'up'])
    }
  }

  /** Another namespace with an interface `ifc` (a veth whose peer stays there too), to delete under a capture. */
  addNamespace (name: string, ifc: string): void {
    shQuiet('ip', ['netns', 'del', name])
    this.extraNamespaces.push(name)
    sh('ip', ['netns', 'add', name])
    sh('ip', ['-n', name, 'link', 'add', ifc, 'type', 'veth', 'peer', 'name', `${ifc}p`])
    sh('ip', ['-n', name, 'link', 'set', ifc, 'up'])
  }

  destroy (): void {
    for (const ns of [this.nsA, this.nsB, ...this.extraNamespaces]) shQuiet('ip', ['netns', 'del', ns])
  }
}

export interface Running {
  child: ChildProcess
  /** Output so far. */
  readonly stdout: string
  readonly stderr: string
  done: Promise<{ code: number | null, stdout: string, stderr: string }>
}

/** Starts a process; its output accumulates while it runs. */
export function run (cmd: string, args: string[]): Running {
  const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] })
  let stdout = ''; let stderr = ''
  child.stdout?.on('data', (d: Buffer) => { stdout += d.toString() })
  child.stderr?.on('data', (d: Buffer) => { stderr += d.toString() })
  const done = new Promise<{ code: number | null, stdout: string, stderr: string }>((resolve) => {
    child.on('close', (code) => resolve({ code, stdout, stderr }))
  })
  return { child, done, get stdout () { return stdout }, get stderr () { return stderr } }
}
