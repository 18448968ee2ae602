// Package rawsock makes the non-blocking socket and epoll system calls of
// an event loop: accept4, socket, connect, read, write, shutdown, close,
// epoll_ctl and a zero-timeout epoll_pwait, with the socket addresses and
// option values they need kept in memory the caller owns, so that a call
// allocates nothing. It also holds FreeList, the loop-owned free list an
// event loop lends its buffers from.
//
// The calls are made straight to the kernel (RawSyscall) unless Sys is
// built with runtime set: a call on a non-blocking descriptor cannot
// block, so the scheduler's bracket around it buys nothing. Every pointer
// handed to the kernel points into the heap, never into a goroutine
// stack: the address travels as a uintptr, and a stack that grew in
// between would have moved under it.
//
// It is Linux only (epoll); on other systems Supported is false and the
// package has nothing else to offer.
package rawsock
