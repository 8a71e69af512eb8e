import { spawnSync } from 'node:child_process'
import { TopoflowError } from '@topoflow/core/errors'
import { LinkType } from './decode/decoder.ts'

/**
 * BPF filters on packets that do not come through a kernel socket (pcap files and streams, sFlow
 * samples), as Skydive applies a capture's BPFFilter to them. The expression is compiled by
 * libpcap, through `tcpdump -ddd` (so that it means exactly what it means to tcpdump), and the
 * classic BPF program it gives is run here, per packet, by a small interpreter.
 */

/** Instructions as (code, jt, jf, k) quadruples. */
export interface BpfProgram {
  readonly expression: string
  readonly code: Int32Array
}

/**
 * libpcap's names (`tcpdump -y`) of the link types the decoders read. Not BSD loopback (NULL): its
 * filters compare the address family in the byte order of the capture's file, which a filter
 * compiled on its own does not know.
 */
const dltNames: Readonly<Record<number, string>> = {
  [LinkType.ETHERNET]: 'EN10MB',
  [LinkType.PPP]: 'PPP',
  [LinkType.RAW]: 'RAW',
  [LinkType.RAW_DLT12]: 'RAW',
  [LinkType.RAW_DLT14]: 'RAW',
  [LinkType.LOOP]: 'LOOP',
  [LinkType.LINUX_SLL]: 'LINUX_SLL',
  [LinkType.IPV4]: 'IPV4',
  [LinkType.IPV6]: 'IPV6',
  [LinkType.LINUX_SLL2]: 'LINUX_SLL2'
}

/**
 * Compiles `expression` for packets of `linkType`. Throws TOPOFLOW_ERR_CONFIG with libpcap's
 * message when the expression does not parse, and when tcpdump is missing.
 */
export function compileBpf (expression: string, linkType: number, tcpdump = 'tcpdump'): BpfProgram {
  const dlt = dltNames[linkType]
  if (dlt === undefined) throw new TopoflowError('TOPOFLOW_ERR_CONFIG', `BPF filter "${expression}": no BPF for link type ${linkType}`)
  const out = spawnSync(tcpdump, ['-ddd', '-y', dlt, '--', expression], { encoding: 'utf8', timeout: 10_000 })
  if (out.error !== undefined) {
    const missing = (out.error as NodeJS.ErrnoException).code === 'ENOENT'
    throw new TopoflowError('TOPOFLOW_ERR_CONFIG', missing
      ? `BPF filter "${expression}": BPF filters on pcap files, streams and sFlow are compiled by tcpdump, which is not installed (Debian package tcpdump)`
      : `BPF filter "${expression}": ${out.error.message}`, { cause: out.error })
  }
  if (out.status !== 0) {
    const message = out.stderr.trim().replace(/^tcpdump: /, '').split('\n').at(-1) ?? 'does not compile'
    throw new TopoflowError('TOPOFLOW_ERR_CONFIG', `BPF filter "${expression}": ${message}`)
  }
  const lines = out.stdout.trim().split('\n')
  const count = Number(lines[0])
  if (!Number.isInteger(count) || count < 1 || lines.length !== count + 1) throw new TopoflowError('TOPOFLOW_ERR_INTERNAL', `BPF filter "${expression}": unexpected tcpdump -ddd output`)
  const code = new Int32Array(count * 4)
  for (let i = 0; i < count; i++) {
    const f = (lines[i + 1] as string).trim().split(/\s+/).map(Number)
    for (let j = 0; j < 4; j++) code[i * 4 + j] = (f[j] ?? 0) | 0
  }
  return { expression, code }
}

/**
 * Runs `program` on the packet at `d[start, start + caplen)`, `wireLen` bytes long on the wire:
 * how many bytes to keep, 0 when the packet is refused. A read past the captured bytes refuses
 * the packet, as in the kernel and libpcap.
 */
export function runBpf (program: BpfProgram, d: Uint8Array, start: number, caplen: number, wireLen: number): number {
  const code = program.code
  const mem = scratch
  let a = 0
  let x = 0
  for (let pc = 0; pc < code.length; pc += 4) {
    const op = code[pc] as number
    const k = (code[pc + 3] as number) >>> 0
    switch (op & 0x07) {
      case 0x00: case 0x01: { // LD, LDX
        const mode = op & 0xe0
        let v: number
        if (mode === 0x00) v = k
        else if (mode === 0x80) v = wireLen
        else if (mode === 0x60) v = mem[k & 15] as number
        else {
          const at = mode === 0x40 ? (x + k) >>> 0 : k
          const size = (op & 0x18) === 0x00 ? 4 : (op & 0x18) === 0x08 ? 2 : 1
          if (at + size > caplen) return 0
          const p = start + at
          if (mode === 0xa0) { v = ((d[p] as number) & 0x0f) << 2 } // LDX MSH: IP header length
          else if (size === 4) v = (((d[p] as number) << 24) | ((d[p + 1] as number) << 16) | ((d[p + 2] as number) << 8) | (d[p + 3] as number)) >>> 0
          else if (size === 2) v = ((d[p] as number) << 8) | (d[p + 1] as number)
          else v = d[p] as number
        }
        if ((op & 0x07) === 0x00) a = v; else x = v
        break
      }
      case 0x02: mem[k & 15] = a; break // ST
      case 0x03: mem[k & 15] = x; break // STX
      case 0x04: { // ALU
        const s = (op & 0x08) !== 0 ? x : k
        switch (op & 0xf0) {
          case 0x00: a = (a + s) >>> 0; break
          case 0x10: a = (a - s) >>> 0; break
          case 0x20: a = Math.imul(a, s) >>> 0; break
          case 0x30: if (s === 0) return 0; a = Math.floor(a / s) >>> 0; break
          case 0x40: a = (a | s) >>> 0; break
          case 0x50: a = (a & s) >>> 0; break
          case 0x60: a = s >= 32 ? 0 : (a << s) >>> 0; break
          case 0x70: a = s >= 32 ? 0 : a >>> s; break
          case 0x80: a = (-a) >>> 0; break
          case 0x90: if (s === 0) return 0; a = (a % s) >>> 0; break
          case 0xa0: a = (a ^ s) >>> 0; break
          default: return 0
        }
        break
      }
      case 0x05: { // JMP: offsets count instructions after this one
        const jop = op & 0xf0
        if (jop === 0x00) { pc += k * 4; break }
        const s = (op & 0x08) !== 0 ? x : k
        const taken = jop === 0x10 ? a === s : jop === 0x20 ? a > s : jop === 0x30 ? a >= s : jop === 0x40 ? (a & s) !== 0 : false
        pc += (taken ? code[pc + 1] as number : code[pc + 2] as number) * 4
        break
      }
      case 0x06: { // RET
        const src = op & 0x18
        return src === 0x10 ? a : src === 0x08 ? x : k
      }
      case 0x07: if ((op & 0xf8) === 0x80) a = x; else x = a; break // MISC: TXA, TAX
    }
  }
  return 0
}

const scratch = new Uint32Array(16)

/**
 * A filter expression over packets of any link type: compiled once per link type, on the first
 * packet of that type (a pcapng file or an sFlow agent may bring several). `check()` compiles it
 * for Ethernet up front, so that a bad expression is reported before any packet comes.
 */
export class BpfFilter {
  readonly expression: string
  /** By link type: its program, or why it has none (not compiled again for every packet). */
  readonly #programs = new Map<number, BpfProgram | TopoflowError>()
  readonly #tcpdump: string | undefined

  constructor (expression: string, tcpdump?: string) {
    this.expression = expression
    this.#tcpdump = tcpdump
  }

  /** Throws TOPOFLOW_ERR_CONFIG when the expression does not compile. */
  check (): void {
    this.#program(LinkType.ETHERNET)
  }

  /** Whether the packet at `d[start, start + caplen)` passes; throws TOPOFLOW_ERR_CONFIG when its link type has no BPF. */
  accepts (linkType: number, d: Uint8Array, start: number, caplen: number, wireLen: number): boolean {
    return runBpf(this.#program(linkType), d, start, caplen, wireLen) > 0
  }

  #program (linkType: number): BpfProgram {
    let p = this.#programs.get(linkType)
    if (p === undefined) {
      try {
        p = compileBpf(this.expression, linkType, this.#tcpdump)
      } catch (err) {
        p = err instanceof TopoflowError ? err : new TopoflowError('TOPOFLOW_ERR_CONFIG', String(err))
      }
      this.#programs.set(linkType, p)
    }
    if (p instanceof TopoflowError) throw p
    return p
  }
}
