import assert from 'node:assert/strict'
import { test } from 'node:test'
import type { NamespaceInfo } from '../../../src/topology/types.ts'
import { monitorCommand } from '../../../src/topology/watchers.ts'

const named: NamespaceInfo = { key: '7', inode: 7, device: 4, path: '/var/run/netns/a', name: 'a', named: true, root: false }
const root: NamespaceInfo = { ...named, path: '/proc/self/ns/net', name: 'root', named: false, root: true }

test('ip monitor runs inside the namespace, under setpriv so that it dies with the agent where it can', () => {
  assert.deepEqual(monitorCommand(named, { dieWithAgent: true }),
    { file: 'setpriv', args: ['--pdeathsig', 'KILL', 'nsenter', '--net=/var/run/netns/a', 'ip', 'monitor', 'link', 'address', 'route'] })
  assert.deepEqual(monitorCommand(root, { dieWithAgent: true, ipPath: '/sbin/ip' }),
    { file: 'setpriv', args: ['--pdeathsig', 'KILL', '/sbin/ip', 'monitor', 'link', 'address', 'route'] })
  assert.deepEqual(monitorCommand(named, { dieWithAgent: false, nsenterPath: '/usr/bin/nsenter' }),
    { file: '/usr/bin/nsenter', args: ['--net=/var/run/netns/a', 'ip', 'monitor', 'link', 'address', 'route'] })
  assert.deepEqual(monitorCommand(root, { dieWithAgent: false }), { file: 'ip', args: ['monitor', 'link', 'address', 'route'] })
})
