package server

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"sync"
	"syscall"
	"time"
)

// Descriptor exhaustion. When the process is out of file descriptors
// (EMFILE) or the system is (ENFILE), accept(2) fails and leaves the
// client in the listen queue, where it waits, unanswered, for as long as
// the exhaustion lasts. A guarded listener keeps one spare descriptor;
// on EMFILE/ENFILE it closes the spare, uses the slot it frees to accept
// and at once close every queued client (they see the connection close
// instead of hanging), and reopens the spare. It then goes back to
// accepting at once, so service resumes as soon as descriptors are free.

const (
	// maxRefuseBurst bounds how many queued clients one exhaustion
	// refuses before accepting is tried again.
	maxRefuseBurst = 4096
	// exhaustedPause is the wait before accepting again when no client
	// could be refused (the spare is gone, or the listener is not a
	// socket this code can reach): short, so that service resumes
	// promptly, yet no busy loop.
	exhaustedPause = 20 * time.Millisecond
	// exhaustedLogEvery rate-limits the warning.
	exhaustedLogEvery = 5 * time.Second
)

// GuardListener wraps ln so that running out of descriptors refuses
// queued clients instead of stalling them; see the comment above. log
// receives at most one warning per few seconds while it lasts (nil
// discards). The listener's Close also releases the spare descriptor.
func GuardListener(ln net.Listener, log *slog.Logger) net.Listener {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	g := &guardedListener{Listener: ln, log: log}
	if sc, ok := ln.(syscall.Conn); ok {
		g.raw, _ = sc.SyscallConn()
	}
	g.spare, _ = os.Open(os.DevNull)
	return g
}

// guardedListener is a listener with a spare descriptor; see
// GuardListener.
type guardedListener struct {
	net.Listener
	raw syscall.RawConn // nil when ln is no socket
	log *slog.Logger

	mu      sync.Mutex // guards what follows; Accept may run concurrently
	spare   *os.File   // nil while it could not be (re)opened
	refused int        // clients refused since the last warning
	logged  time.Time  // when the last warning was logged
}

func (g *guardedListener) Accept() (net.Conn, error) {
	for {
		c, err := g.Listener.Accept()
		if err == nil || !isExhausted(err) {
			return c, err
		}
		g.shed(err)
	}
}

func (g *guardedListener) Close() error {
	err := g.Listener.Close()
	g.mu.Lock()
	if g.spare != nil {
		g.spare.Close()
		g.spare = nil
	}
	g.mu.Unlock()
	return err
}

// isExhausted reports whether an accept error means no descriptor was
// free.
func isExhausted(err error) bool {
	return errors.Is(err, syscall.EMFILE) || errors.Is(err, syscall.ENFILE)
}

// shed refuses the queued clients with the spare descriptor's slot, or
// pauses briefly when it cannot.
func (g *guardedListener) shed(cause error) {
	if g.shedNow(cause) == 0 {
		time.Sleep(exhaustedPause)
	}
}

// shedNow refuses the queued clients with the spare descriptor's slot and
// returns how many it refused; 0 means the caller should wait
// exhaustedPause before accepting again (the event loop, which must not
// sleep, arranges that itself).
func (g *guardedListener) shedNow(cause error) int {
	g.mu.Lock()
	if g.spare == nil {
		// The spare was lost to a previous exhaustion: take it back
		// when a descriptor is free again.
		g.spare, _ = os.Open(os.DevNull)
	}
	n := 0
	if g.spare != nil && g.raw != nil {
		g.spare.Close()
		n = g.refuseQueued()
		g.spare, _ = os.Open(os.DevNull)
	}
	g.refused += n
	if now := time.Now(); now.Sub(g.logged) >= exhaustedLogEvery {
		g.log.Warn(fmt.Sprintf("accept: %d queued connections refused", g.refused), "err", cause)
		g.logged, g.refused = now, 0
	}
	g.mu.Unlock()
	return n
}

// deadliner is the listener side of ownership (loop_linux.go): a deadline
// in the past stops a blocked Accept.
type deadliner interface{ SetDeadline(time.Time) error }

// kick makes a blocked Accept return with a timeout, so that the accept
// loop looks at who owns the listener.
func (g *guardedListener) kick() {
	if d, ok := g.Listener.(deadliner); ok {
		_ = d.SetDeadline(time.Unix(1, 0))
	}
}

// clearDeadline undoes kick.
func (g *guardedListener) clearDeadline() {
	if d, ok := g.Listener.(deadliner); ok {
		_ = d.SetDeadline(time.Time{})
	}
}

// refuseQueued accepts and closes queued connections until the queue is
// empty, no descriptor is free, or maxRefuseBurst; it returns how many.
// It calls accept(2) itself on the listener's non-blocking socket, so
// that an empty queue (EAGAIN) ends the burst instead of blocking. The
// fork lock keeps a descriptor that lives only until the next line from
// leaking into a child started meanwhile (accept(2), unlike accept4,
// cannot set close-on-exec, and macOS has only accept).
func (g *guardedListener) refuseQueued() int {
	n := 0
	g.raw.Control(func(fd uintptr) {
		for n < maxRefuseBurst {
			syscall.ForkLock.RLock()
			nfd, _, err := syscall.Accept(int(fd))
			if err == nil {
				syscall.Close(nfd)
			}
			syscall.ForkLock.RUnlock()
			if err == syscall.EINTR || err == syscall.ECONNABORTED {
				continue
			}
			if err != nil {
				return
			}
			n++
		}
	})
	return n
}
