import assert from 'node:assert/strict'
import { test } from 'node:test'
import { TopoflowError } from '@topoflow/core'
import { discoverNamespaces, parseNetnsLink } from '../../../src/topology/netns.ts'
import { A, B, fixtureFs, manifest } from './fixtures.ts'

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
