import { readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { fixtureFsReader, type FsRecording } from '../../../src/topology/fs-reader.ts'
import type { CommandRunner } from '../../../src/topology/runner.ts'

/** Loads what test/fixtures/topology/record.ts recorded on a real machine. */

export const fixtureDir = join(dirname(fileURLToPath(import.meta.url)), '../../fixtures/topology')

export interface Manifest {
  namespaces: { a: string, b: string }
  inodes: { root: number, anon: number } & Record<string, number>
  pids: { server: number, client: number, anon: number }
  execPath: string
}

export const manifest = JSON.parse(readFileSync(join(fixtureDir, 'manifest.json'), 'utf8')) as Manifest
export const A = manifest.namespaces.a
export const B = manifest.namespaces.b

export function batchText (label: string): string {
  return readFileSync(join(fixtureDir, 'ip', `${label}.batch.txt`), 'utf8')
}

export function ipJson (file: string): Array<Record<string, unknown>> {
  return JSON.parse(readFileSync(join(fixtureDir, 'ip', file), 'utf8')) as Array<Record<string, unknown>>
}

export function procRecording (): FsRecording {
  return JSON.parse(readFileSync(join(fixtureDir, 'proc.json'), 'utf8')) as FsRecording
}

export function fixtureFs (edit?: (rec: FsRecording) => void): ReturnType<typeof fixtureFsReader> {
  const rec = procRecording()
  edit?.(rec)
  return fixtureFsReader(rec)
}

/**
 * Replays recorded `ip -batch` outputs: the root namespace's for plain `ip`, and by `--net=<path>` for
 * the others. `outputs` can be changed between calls to simulate changes; a missing entry fails like
 * nsenter does on a namespace that is gone.
 */
export function replayRunner (outputs: Map<string, string>): CommandRunner & { calls: string[][] } {
  const calls: string[][] = []
  return {
    calls,
    run: async (file, args) => {
      calls.push([file, ...args])
      const net = args.find(a => a.startsWith('--net='))
      const key = net === undefined ? 'root' : net.slice('--net='.length)
      const out = outputs.get(key)
      if (out === undefined) throw new Error(`nsenter: cannot open ${key}: No such file or directory`)
      return out
    }
  }
}

/** Outputs keyed as {@link replayRunner} expects, from the recording. */
export function recordedOutputs (): Map<string, string> {
  return new Map([
    ['root', batchText('root')],
    [`/var/run/netns/${A}`, batchText(A)],
    [`/var/run/netns/${B}`, batchText(B)],
    [`/proc/${manifest.pids.anon}/ns/net`, batchText('anon')]
  ])
}
