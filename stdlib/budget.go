package stdlib

import lua "github.com/yuin/gopher-lua"

// The host bounds each VM entry by cancelling the context of the running
// Lua thread; gopher-lua notices between two instructions. A native
// function that loops over a large input is a single instruction, so the
// loops below poll the same context themselves and raise the error
// gopher-lua would.

// pollEvery is how many loop rounds pass between two polls: a round costs
// nanoseconds, so the end of the budget is seen within microseconds.
const pollEvery = 1 << 10

// budgetPoll watches the context of one Lua thread from a native loop.
// The zero value never reports an end.
type budgetPoll struct {
	done <-chan struct{}
	n    uint
}

// pollOf returns a poll of L's context.
func pollOf(L *lua.LState) budgetPoll {
	if ctx := L.Context(); ctx != nil {
		return budgetPoll{done: ctx.Done()}
	}
	return budgetPoll{}
}

// tick counts one round and reports, every pollEvery rounds, whether the
// context has ended.
func (p *budgetPoll) tick() bool {
	p.n++
	return p.n%pollEvery == 0 && p.ended()
}

// ended reports whether the context has ended.
func (p *budgetPoll) ended() bool {
	if p.done == nil {
		return false
	}
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// raiseBudget raises the error of L's ended context, the error the host
// reports as a blown budget.
func raiseBudget(L *lua.LState) {
	msg := "context canceled"
	if ctx := L.Context(); ctx != nil && ctx.Err() != nil {
		msg = ctx.Err().Error()
	}
	L.RaiseError("%s", msg)
}

// errBudgetEnded is what a polling loop returns when the context ends.
type errBudgetEnded struct{}

func (errBudgetEnded) Error() string { return "stdlib: execution budget ended" }
