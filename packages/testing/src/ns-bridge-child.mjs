// Runs inside a network namespace: listens on 127.0.0.1:<port> there and pipes every connection to
// a Unix socket, which (being a file) reaches the process on the other side of the namespace wall.
import { createConnection, createServer } from 'node:net'

const [port, socketPath] = process.argv.slice(2)
const server = createServer((inside) => {
  const outside = createConnection(socketPath)
  inside.pipe(outside).pipe(inside)
  inside.on('error', () => outside.destroy())
  outside.on('error', () => inside.destroy())
})
server.listen(Number(port), '127.0.0.1', () => { process.stdout.write('listening\n') })
// The parent holds our stdin: when it goes away, so do we.
process.stdin.on('end', () => process.exit(0))
process.stdin.on('close', () => process.exit(0))
process.stdin.resume()
