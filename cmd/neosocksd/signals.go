package main

import (
	"context"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/neosocksd-go/neosocksd/core/config"
)

// signals is what the process's signals ask of the main goroutine. One
// goroutine owns the signal channel for the life of the process, so that a
// second SIGINT or SIGTERM is acted on even while the main goroutine is
// blocked: in a reload, in the drain, or closing a Lua VM that is stuck in
// a native call no budget can interrupt.
type signals struct {
	reload <-chan struct{} // a SIGHUP; several pending ones merge into one
	stop   <-chan struct{} // closed by the first SIGINT or SIGTERM
}

// watchSignals starts catching SIGHUP, SIGINT and SIGTERM. A second
// SIGINT or SIGTERM logs a notice and calls exit, from the watching
// goroutine, whatever the rest of the process is doing.
func watchSignals(log *slog.Logger, exit func()) signals {
	ch := make(chan os.Signal, 4)
	signal.Notify(ch, syscall.SIGHUP, syscall.SIGINT, syscall.SIGTERM)
	reload := make(chan struct{}, 1)
	stop := make(chan struct{})
	go func() {
		stopping := false
		for sig := range ch {
			switch {
			case sig == syscall.SIGHUP:
				select {
				case reload <- struct{}{}:
				default: // one is pending already
				}
			case !stopping:
				stopping = true
				close(stop)
			default:
				log.Log(context.Background(), config.LevelNotice, "second signal: exiting now")
				exit()
			}
		}
	}()
	return signals{reload: reload, stop: stop}
}
