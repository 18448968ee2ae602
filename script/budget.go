package script

// The execution budget: one shared context per entry, cancelled by the
// watchdog, that every thread of the VM polls.

import (
	"context"
	"sync"
	"time"

	lua "github.com/yuin/gopher-lua"
)

// epochCtx is the shared execution-budget context. Its Done channel is a
// plain field: gopher-lua polls it before every instruction, and a
// context.WithCancel context would add an atomic load and a type assertion
// to each poll.
type epochCtx struct {
	done chan struct{}
	once sync.Once
}

func (c *epochCtx) Deadline() (time.Time, bool) { return time.Time{}, false }
func (c *epochCtx) Done() <-chan struct{}       { return c.done }
func (c *epochCtx) Value(any) any               { return nil }
func (c *epochCtx) Err() error {
	select {
	case <-c.done:
		return context.Canceled
	default:
		return nil
	}
}
func (c *epochCtx) cancel() { c.once.Do(func() { close(c.done) }) }

// newEpoch replaces the shared execution-budget context.
func (v *vm) newEpoch() {
	e := v.e
	ctx := &epochCtx{done: make(chan struct{})}
	e.epochMu.Lock()
	old := e.epochCancel
	e.epochCancel = ctx.cancel
	e.epochMu.Unlock()
	if old != nil {
		old()
	}
	v.epoch = ctx
	v.L.SetContext(ctx)
}

// budgetBlown reports whether the running entry was aborted by the
// watchdog.
func (v *vm) budgetBlown() bool { return v.epoch != nil && v.epoch.Err() != nil }

// refresh gives th the current epoch.
func (v *vm) refresh(th *lua.LState) {
	if v.epoch != nil && th.Context() != context.Context(v.epoch) {
		th.SetContext(v.epoch)
	}
}
