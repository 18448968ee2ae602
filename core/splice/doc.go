// Package splice relays bytes between two TCP sockets with splice(2)
// through a pipe owned by each copy, for neosocksd's --pipe option.
//
// Copy moves one direction until EOF; the caller runs one Copy per
// direction and propagates EOF with CloseWrite. Every splice runs inside
// a syscall.RawConn callback, so the sockets stay under the Go netpoller:
// no OS thread blocks, and deadlines and Close from another goroutine
// work as they do for Read and Write. Pipes come from a bounded free list
// (an empty pipe is reused by a later Copy; one holding bytes after an
// error is closed), sized with F_SETPIPE_SZ.
//
// The package must not close, half-close or otherwise change the sockets
// it is given, log, or keep state beyond the idle pipes.
package splice
