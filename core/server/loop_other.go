//go:build !linux

package server

// Outside Linux there is no event loop (it needs epoll): every connection
// takes the goroutine path.

type evloop struct{}

type loopListener struct{}

var loopEnabled = false

const loopSupported = false

func (s *Server) newLoop() (*evloop, error)      { return nil, nil }
func (l *evloop) listenerOf(any) *loopListener   { return nil }
func (l *evloop) run()                           {}
func (l *evloop) stop()                          {}
func (l *evloop) forceClose()                    {}
func (s *Server) yieldToLoop(*loopListener) bool { return true }
func (s *Server) acceptTimedOut(*loopListener)   {}
func (s *Server) ownershipChanged()              {}
