// Package testproxy runs this repository's proxy server in-process on
// loopback, for the tests of the packages above core/server (the engines
// and the conformance suite) that need a real proxy between a client and
// an upstream.
//
// It is apart from testkit because testkit also serves the tests of
// core/server and core/dial, which could not import a package that
// imports them.
package testproxy

import (
	"context"
	"testing"
	"time"

	"github.com/neosocksd-go/neosocksd/core/config"
	"github.com/neosocksd-go/neosocksd/core/dial"
	"github.com/neosocksd-go/neosocksd/core/route"
	"github.com/neosocksd-go/neosocksd/core/server"
	"github.com/neosocksd-go/neosocksd/core/stats"
)

// Start binds and runs a proxy server with configuration c, routed by r
// (nil: every request dialled directly), with a direct dialer that counts
// into the server's statistics. At the end of the test it shuts the
// server down, allowing 2 seconds for the sessions, and waits for Serve
// to return. It returns the address of the -l listener.
func Start(tb testing.TB, c *config.Config, r route.Router) string {
	tb.Helper()
	st := new(stats.Counters)
	s, err := server.New(server.Options{Config: c, Router: r, Dialer: dial.New(dial.Options{Stats: st}), Stats: st})
	if err != nil {
		tb.Fatal(err)
	}
	if err := s.Listen(); err != nil {
		tb.Fatal(err)
	}
	served := make(chan error, 1)
	go func() { served <- s.Serve(context.Background()) }()
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_ = s.Shutdown(ctx)
		<-served
	})
	a, _ := s.Addrs()
	return a.String()
}
