package server

import (
	"runtime/debug"
	"time"
)

// Returning memory after a peak. Go's heap keeps what a load peak made it
// grow to until a collection finds it free and the scavenger returns it,
// and a daemon that went idle after the peak allocates nothing, so no
// collection comes for minutes (the runtime forces one every two) and the
// resident size stays at the peak. After a large drop of live
// connections the server releases the memory explicitly, once the drop
// has settled, at most every releaseEvery.
const (
	// releaseMinPeak is the fewest live connections whose drop is worth
	// a release: below it, the memory at stake is a few MiB.
	releaseMinPeak = 256
	// releaseDelay lets the rest of a drop happen before the release,
	// so that one release covers a whole wave of closing connections.
	releaseDelay = time.Second
	// releaseEvery bounds how often a release (a forced collection) runs.
	releaseEvery = 10 * time.Second
)

// releaseState is the bookkeeping of memory releases; s.mu guards it.
type releaseState struct {
	peak  int         // most live connections since the last release
	timer *time.Timer // the armed release, nil if none
	last  time.Time   // when the last release ran
}

// connAdded notes a new live connection; s.mu is held.
func (s *Server) connAdded() {
	s.release.peak = max(s.release.peak, s.liveConns())
}

// liveConns counts the connections of both paths; s.mu is held.
func (s *Server) liveConns() int { return len(s.conns) + s.loopLive }

// connRemoved arms a release when the live connections have dropped to
// half of their peak or fewer; s.mu is held.
func (s *Server) connRemoved() {
	r := &s.release
	if r.timer != nil || s.closing || r.peak < releaseMinPeak || s.liveConns() > r.peak/2 {
		return
	}
	wait := max(releaseDelay, time.Until(r.last.Add(releaseEvery)))
	r.timer = time.AfterFunc(wait, s.releaseMemory)
}

// releaseMemory runs an armed release: a collection that also returns
// the free memory to the system.
func (s *Server) releaseMemory() {
	debug.FreeOSMemory()
	s.mu.Lock()
	s.release.timer = nil
	s.release.last = time.Now()
	s.release.peak = s.liveConns()
	s.mu.Unlock()
	s.log.Debug("memory released after a drop of connections")
}

// stopRelease disarms a pending release; s.mu is held.
func (s *Server) stopRelease() {
	if s.release.timer != nil && s.release.timer.Stop() {
		s.release.timer = nil
	}
}
