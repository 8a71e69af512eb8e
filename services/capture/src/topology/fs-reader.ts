import { readdirSync, readFileSync, readlinkSync, statSync } from 'node:fs'
import { readFile } from 'node:fs/promises'

/**
 * The few file system calls discovery needs, behind an interface so that /proc and /sys scans run
 * in unit tests on recorded snapshots.
 */
export interface FsReader {
  readFile: (path: string) => Promise<string>
  readlink: (path: string) => Promise<string>
  readdir: (path: string) => Promise<string[]>
  stat: (path: string) => Promise<{ ino: number, dev: number }>
}

/** /proc/<pid>/net/{tcp,udp}{,6}: the kernel walks its whole socket hash tables to print them. */
const slowFile = /\/net\/(tcp|udp)6?$/

/**
 * Scans make thousands of small reads on /proc and /sys, each a few microseconds in the kernel: done
 * synchronously, they cost far less than the several round trips through libuv's thread pool an
 * asynchronous read takes. Socket tables stay asynchronous: each can take milliseconds to produce.
 */
export const nodeFsReader: FsReader = {
  readFile: async path => slowFile.test(path) ? await readFile(path, 'utf8') : readFileSync(path, 'utf8'),
  readlink: async path => readlinkSync(path),
  readdir: async path => readdirSync(path),
  stat: async (path) => {
    const s = statSync(path)
    return { ino: s.ino, dev: s.dev }
  }
}

/** A recorded file system: what {@link recordingFsReader} saw, replayable by {@link fixtureFsReader}. */
export interface FsRecording {
  files: Record<string, string>
  links: Record<string, string>
  dirs: Record<string, string[]>
  stats: Record<string, { ino: number, dev: number }>
}

function missing (path: string): Error {
  return Object.assign(new Error(`ENOENT: no such file or directory, '${path}'`), { code: 'ENOENT', path })
}

export function fixtureFsReader (rec: FsRecording): FsReader {
  const get = <T>(table: Record<string, T>, path: string): T => {
    const v = table[path]
    if (v === undefined) throw missing(path)
    return v
  }
  return {
    readFile: async path => get(rec.files, path),
    readlink: async path => get(rec.links, path),
    readdir: async path => [...get(rec.dirs, path)],
    stat: async path => ({ ...get(rec.stats, path) })
  }
}

/** Wraps a reader and keeps every successful answer, to write fixtures from a live machine. */
export function recordingFsReader (inner: FsReader): { reader: FsReader, recording: FsRecording } {
  const recording: FsRecording = { files: {}, links: {}, dirs: {}, stats: {} }
  const reader: FsReader = {
    readFile: async (path) => { const v = await inner.readFile(path); recording.files[path] = v; return v },
    readlink: async (path) => { const v = await inner.readlink(path); recording.links[path] = v; return v },
    readdir: async (path) => { const v = await inner.readdir(path); recording.dirs[path] = v; return v },
    stat: async (path) => { const v = await inner.stat(path); recording.stats[path] = v; return v }
  }
  return { reader, recording }
}

/** The errno code of a failed file system call, when it has one. */
export function errorCode (err: unknown): string | undefined {
  return typeof err === 'object' && err !== null && typeof (err as { code?: unknown }).code === 'string'
    ? (err as { code: string }).code
    : undefined
}
