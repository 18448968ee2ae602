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
		fn, herr := v.hookFunc("healthy")
		if herr != nil {
			out = errorText(herr)
			return
		}
		if fn == nil {
			return
		}
		rets, err := v.callMain(fn, 1)
		if err != nil {
			out = errorText(err)
			return
		}
		out, _ = hookText(rets[0])
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
		fn, herr := v.hookFunc("stats")
		if herr != nil {
			out = errorText(herr)
			return
		}
		if fn == nil {
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
		var ok bool
		if out, ok = hookText(rets[0]); !ok {
			out = errorText(v.lastError)
		}
	})
	return out
}

// Metrics calls ruleset.metrics and returns its Prometheus text.
func (e *Engine) Metrics(ctx context.Context) string {
	var out string
	_ = e.do(ctx, func(v *vm) {
		fn, herr := v.hookFunc("metrics")
		if herr != nil || fn == nil {
			return
		}
		rets, err := v.callMain(fn, 1)
		if err != nil {
			v.e.log.Warn("ruleset.metrics: " + errorText(err))
			return
		}
		out, _ = hookText(rets[0])
	})
	return out
}

// hookFunc returns ruleset[name] when a ruleset is loaded and that is a
// function, else nil; herr is what looking it up raised.
func (v *vm) hookFunc(name string) (fn, herr lua.LValue) {
	if !v.e.hasRuleset.Load() {
		return nil, nil
	}
	fn, herr = v.hook(name)
	if herr != nil {
		return nil, herr
	}
	if fn.Type() != lua.LTFunction {
		return nil, nil
	}
	return fn, nil
}

// hookText is the text a hook returned: a string, or a number in Lua's
// notation; ok is false for any other value.
func hookText(r lua.LValue) (text string, ok bool) {
	switch r := r.(type) {
	case lua.LString:
		return string(r), true
	case lua.LNumber:
		return r.String(), true
	}
	return "", false
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

// The Lua engine has every ability the API can ask for.
var (
	_ api.Ruleset         = (*Engine)(nil)
	_ api.Invoker         = (*Engine)(nil)
	_ api.RPCaller        = (*Engine)(nil)
	_ api.Collector       = (*Engine)(nil)
	_ api.RuntimeReporter = (*Engine)(nil)
)
