import assert from 'node:assert/strict'
import { test } from 'node:test'
import { TopoflowError } from '@topoflow/core'
import { fixtureFsReader, type FsReader, type FsRecording } from '../../../src/topology/fs-reader.ts'
import { discoverNamespaces, parseNetnsLink, ProcessNamespaces, ProcessScanGate, readProcessChurn } from '../../../src/topology/netns.ts'
import { A, B, fixtureFs, manifest, procRecording } from './fixtures.ts'

const dirs = { netnsDirs: ['/var/run/netns'] }

test('finds the root, the named and the anonymous namespaces, deduplicated by inode', async () => {
  const result = await discoverNamespaces(fixtureFs(), dirs)
  assert.deepEqual(result.namespaces.map(ns => [ns.name, ns.inode, ns.named, ns.root]), [
    ['root', manifest.inodes.root, false, true],
    [A, manifest.inodes[A], true, false],
    [B, manifest.inodes[B], true, false],
    [`net:[${manifest.inodes.anon}]`, manifest.inodes.anon, false, false]
  ].sort((x, y) => Number(y[3]) - Number(x[3]) || Number(x[1]) - Number(y[1])))
  const anon = result.namespaces.find(ns => ns.inode === manifest.inodes.anon)
  assert.equal(anon?.path, `/proc/${manifest.pids.anon}/ns/net`)
  // The server and client processes live in the named namespaces: no duplicate anonymous entries.
  assert.equal(result.namespaces.length, 4)
  assert.equal(result.skipped, 0)
})

test('an excluded pid (the agent\'s own ip monitor) does not keep an anonymous namespace', async () => {
  const result = await discoverNamespaces(fixtureFs(), { ...dirs, excludePids: new Set([manifest.pids.anon]) })
  assert.equal(result.namespaces.some(ns => ns.inode === manifest.inodes.anon), false)
})

test('a process that exits mid-scan and a stale netns file are skipped and counted', async () => {
  const fs = fixtureFs((rec) => {
    rec.dirs['/proc']?.push('999999') // listed, but gone before its ns link is read
    rec.dirs['/var/run/netns']?.push('leftover') // a file whose namespace was unmounted
    delete rec.links[`/proc/${manifest.pids.anon}/ns/net`]
  })
  const result = await discoverNamespaces(fs, dirs)
  assert.equal(result.skipped, 3)
  assert.deepEqual(result.namespaces.map(ns => ns.name), ['root', A, B])
})

test('missing netns directories are fine; an unreadable own namespace is a clear error', async () => {
  const result = await discoverNamespaces(fixtureFs(), { netnsDirs: ['/does/not/exist'] })
  assert.equal(result.namespaces.filter(ns => ns.named).length, 0)
  await assert.rejects(discoverNamespaces(fixtureFs(), { ...dirs, procDir: '/nowhere' }),
    (err: unknown) => TopoflowError.is(err) && err.code === 'TOPOFLOW_ERR_PROBE' && /own network namespace/.test(err.message))
})

test('parseNetnsLink', () => {
  assert.equal(parseNetnsLink('net:[4026531833]'), 4026531833)
  assert.equal(parseNetnsLink('mnt:[4026531833]'), undefined)
})

/** A /proc with the given pid → netns inode, and /proc/loadavg. */
function procOf (namespaces: Record<number, number>, loadavg = '0.10 0.20 0.30 1/120 5000\n'): FsRecording {
  const rec: FsRecording = { dirs: { '/proc': [...Object.keys(namespaces), 'self', 'loadavg'] }, links: {}, files: { '/proc/loadavg': loadavg }, stats: {} }
  for (const [pid, inode] of Object.entries(namespaces)) rec.links[`/proc/${pid}/ns/net`] = `net:[${inode}]`
  return rec
}

function countingLinks (inner: FsReader): { fs: FsReader, links: string[] } {
  const links: string[] = []
  return { links, fs: { ...inner, readlink: async (p) => { links.push(p); return await inner.readlink(p) } } }
}

test('process namespaces: a process is looked up in its first two reads, then remembered until it goes', async () => {
  const rec = procOf({ 10: 1, 20: 2 })
  const { fs, links } = countingLinks(fixtureFsReader(rec))
  const processes = new ProcessNamespaces(fs)
  const none = new Set<number>()
  assert.deepEqual((await processes.read(none, false)).namespaces, [[10, 1], [20, 2]])
  assert.deepEqual((await processes.read(none, false)).namespaces, [[10, 1], [20, 2]])
  assert.equal(links.length, 4)
  // A new process that entered its own namespace just after it was first seen (`unshare -n`).
  rec.dirs['/proc']?.push('30')
  rec.links['/proc/30/ns/net'] = 'net:[1]'
  links.length = 0
  assert.deepEqual((await processes.read(none, false)).namespaces, [[10, 1], [20, 2], [30, 1]])
  rec.links['/proc/30/ns/net'] = 'net:[3]'
  assert.deepEqual((await processes.read(none, false)).namespaces, [[10, 1], [20, 2], [30, 3]])
  // Two reads that disagree: looked at until two agree.
  assert.deepEqual((await processes.read(none, false)).namespaces, [[10, 1], [20, 2], [30, 3]])
  assert.deepEqual(links, ['/proc/30/ns/net', '/proc/30/ns/net', '/proc/30/ns/net'])
  // Settled: a known process entering another namespace itself is seen by a full read only.
  rec.links['/proc/20/ns/net'] = 'net:[4]'
  links.length = 0
  assert.deepEqual((await processes.read(none, false)).namespaces, [[10, 1], [20, 2], [30, 3]])
  assert.equal(links.length, 0)
  assert.deepEqual((await processes.read(none, true)).namespaces, [[10, 1], [20, 4], [30, 3]])
  assert.equal(links.length, 3)
  // Gone processes are forgotten; excluded ones (the agent's children) left out.
  rec.dirs['/proc'] = ['10', '30']
  assert.deepEqual((await processes.read(new Set([30]), false)).namespaces, [[10, 1]])
  // An unreadable process is counted once, not at every read.
  rec.dirs['/proc'] = ['10', '40']
  assert.equal((await processes.read(none, false)).skipped, 1)
  assert.equal((await processes.read(none, false)).skipped, 0)
})

test('discovery with remembered processes: new anonymous namespaces found, those whose holders left let go', async () => {
  const rec = procRecording()
  const { fs, links } = countingLinks(fixtureFsReader(rec))
  const processes = new ProcessNamespaces(fs)
  const discover = async (full: boolean): Promise<string[]> =>
    (await discoverNamespaces(fs, { ...dirs, processes, full })).namespaces.map(ns => ns.name)
  const all = await discover(true)
  assert.deepEqual([...all].sort(), ['root', A, B, `net:[${manifest.inodes.anon}]`].sort())
  await discover(false) // each process's second look
  links.length = 0
  assert.deepEqual(await discover(false), all)
  assert.deepEqual(links.filter(l => l.endsWith('/ns/net')), [])
  // The only process in the anonymous namespace leaves.
  const anonPid = String(manifest.pids.anon)
  rec.dirs['/proc'] = (rec.dirs['/proc'] ?? []).filter(p => p !== anonPid)
  assert.deepEqual(await discover(false), all.filter(n => n !== `net:[${manifest.inodes.anon}]`))
  // A new process in a namespace of its own.
  rec.dirs['/proc']?.push('777777')
  rec.links['/proc/777777/ns/net'] = 'net:[4026599999]'
  rec.stats['/proc/777777/ns/net'] = { ino: 4026599999, dev: 4 }
  assert.ok((await discover(false)).includes('net:[4026599999]'))
})

test('process churn: /proc/loadavg\'s task count and last pid', async () => {
  assert.equal(await readProcessChurn(fixtureFsReader(procOf({}, '0.10 0.20 0.30 2/549 31772\n'))), '549 31772')
  assert.equal(await readProcessChurn(fixtureFsReader(procOf({}, 'garbage\n'))), undefined)
  assert.equal(await readProcessChurn(fixtureFsReader(procOf({})), '/nowhere'), undefined)
})

test('the scan gate: a scan after processes came or went, one more after that, then none while they stand still', async () => {
  const rec = procOf({ 10: 1 })
  const gate = new ProcessScanGate(fixtureFsReader(rec))
  assert.equal(await gate.worthScanning(), true) // never scanned
  await gate.scanning()
  assert.equal(await gate.worthScanning(), true) // the one more scan
  await gate.scanning()
  assert.equal(await gate.worthScanning(), false)
  assert.equal(await gate.worthScanning(), false)
  // Only the running count moved: nothing started or ended.
  rec.files['/proc/loadavg'] = '0.10 0.20 0.30 7/120 5000\n'
  assert.equal(await gate.worthScanning(), false)
  // A process started (last pid), or one ended (task count).
  rec.files['/proc/loadavg'] = '0.10 0.20 0.30 1/121 5001\n'
  assert.equal(await gate.worthScanning(), true)
  await gate.scanning()
  assert.equal(await gate.worthScanning(), true)
  await gate.scanning()
  assert.equal(await gate.worthScanning(), false)
  rec.files['/proc/loadavg'] = '0.10 0.20 0.30 1/120 5001\n'
  assert.equal(await gate.worthScanning(), true)
  // No /proc/loadavg: always worth it.
  const blind = new ProcessScanGate(fixtureFsReader(procOf({})), '/nowhere')
  await blind.scanning()
  await blind.scanning()
  assert.equal(await blind.worthScanning(), true)
})
