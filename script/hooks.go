package script

import (
	"context"
	"errors"
	"runtime"
	"runtime/metrics"
	"time"

	"github.com/neosocksd-go/neosocksd/core/api"
	lua "github.com/yuin/gopher-lua"
)

// Healthy calls ruleset.healthy on the main thread: "" is healthy,
// anything else is the 503 body.
func (e *Engine) Healthy(ctx context.Context) string {
	var out string
	if err := e.do(ctx, func(v *vm) {
		if !v.e.hasRuleset.Load() {
			return
		}
		fn, herr := v.hook("healthy")
		if herr != nil {
			out = errorText(herr)
			return
		}
		if fn.Type() != lua.LTFunction {
			return
		}
		rets, err := v.callMain(fn, 1)
		if err != nil {
			out = errorText(err)
			return
		}
		switch r := rets[0].(type) {
		case lua.LString:
			out = string(r)
		case lua.LNumber:
			out = r.String()
		}
	}); err != nil {
		return err.Error()
	}
	return out
}

// Stats calls ruleset.stats(dt, q) and returns the text appended to POST
// /stats.
func (e *Engine) Stats(ctx context.Context, dt time.Duration, q *string) string {
	var out string
	_ = e.do(ctx, func(v *vm) {
		if !v.e.hasRuleset.Load() {
			return
		}
		fn, herr := v.hook("stats")
		if herr != nil {
			out = errorText(herr)
			return
		}
		if fn.Type() != lua.LTFunction {
			return
		}
		var qv lua.LValue = lua.LNil
		if q != nil {
			qv = lua.LString(*q)
		}
		rets, err := v.callMain(fn, 1, lua.LNumber(dt.Seconds()), qv)
		if err != nil {
			out = errorText(err)
			return
		}
		switch r := rets[0].(type) {
		case lua.LString:
			out = string(r)
		case lua.LNumber:
			out = r.String()
		default:
			out = errorText(v.lastError)
		}
	})
	return out
}

// Metrics calls ruleset.metrics and returns its Prometheus text.
func (e *Engine) Metrics(ctx context.Context) string {
	var out string
	_ = e.do(ctx, func(v *vm) {
		if !v.e.hasRuleset.Load() {
			return
		}
		fn, herr := v.hook("metrics")
		if herr != nil || fn.Type() != lua.LTFunction {
			return
		}
		rets, err := v.callMain(fn, 1)
		if err != nil {
			v.e.log.Warn("ruleset.metrics: " + errorText(err))
			return
		}
		switch r := rets[0].(type) {
		case lua.LString:
			out = string(r)
		case lua.LNumber:
			out = r.String()
		}
	})
	return out
}

// sampleHeap refreshes the heap statistics now.
func (e *Engine) sampleHeap() {
	s := []metrics.Sample{
		{Name: "/memory/classes/heap/objects:bytes"},
		{Name: "/gc/heap/objects:objects"},
	}
	metrics.Read(s)
	if s[0].Value.Kind() == metrics.KindUint64 {
		e.allocated.Store(s[0].Value.Uint64())
	}
	if s[1].Value.Kind() == metrics.KindUint64 {
		e.objects.Store(s[1].Value.Uint64())
	}
}

// GC runs a full collection on the owner and reports the runtime
// statistics before and after.
func (e *Engine) GC(ctx context.Context) (before, after api.Runtime, err error) {
	err = e.do(ctx, func(v *vm) {
		e.sampleHeap()
		before = e.Runtime()
		runtime.GC()
		e.sampleHeap()
		after = e.Runtime()
	})
	return before, after, err
}

// errRPCNoReturn is the API's answer when an rpcall raised.
var errRPCNoReturn = errors.New("rpcall did not return")

// RPCall runs code as chunk "=(rpc)" in a sandbox in a new routine and
// returns "return " .. marshal(true, results...). A syntax error is
// returned as is; a runtime error or an unmarshallable result is
// "rpcall did not return".
func (e *Engine) RPCall(ctx context.Context, code []byte) ([]byte, error) {
	type result struct {
		body []byte
		err  error
	}
	ch := make(chan result, 1)
	if err := e.do(ctx, func(v *vm) {
		fn, err := compile(v.L, code, "=(rpc)")
		if err != nil {
			v.setLastError(lua.LString(err.Error()))
			ch <- result{nil, err}
			return
		}
		fn.Env = v.sandbox()
		r := &routine{kind: kRPC, rpcDone: func(body []byte, err error) {
			if err != nil {
				err = errRPCNoReturn
			}
			ch <- result{body, err}
		}}
		v.start(v.L, r, v.runTramp, fn)
	}); err != nil {
		return nil, err
	}
	select {
	case r := <-ch:
		return r.body, r.err
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-e.done:
		return nil, ErrClosed
	}
}

var _ api.Ruleset = (*Engine)(nil)
