package script

import (
	"context"
	"strings"
	"testing"
	"time"
)

// TestLuaAPI runs snippets in a routine (through RPCall) and compares the
// marshalled results.
func TestLuaAPI(t *testing.T) {
	te := loadTestRuleset(t, Options{}, "testdata/boot/libruleset.lua")
	tests := []struct {
		name, code, want string
	}{
		{"parse_ipv4", `return neosocksd.parse_ipv4("203.0.113.1") == 0xCB007101, select("#", neosocksd.parse_ipv4("01.2.3.4"))`, "true,true,0"},
		{"parse_ipv6 halves", `return neosocksd.parse_ipv6("fe80::1:2")`, "true,-0x180000000000000,65538"},
		{"parse_ipv6 spec example", `local subnet1, subnet2 = neosocksd.parse_ipv6("fe80::")
local mask1, mask2 = 0xFFC0000000000000, 0
local ip1, ip2 = neosocksd.parse_ipv6("fe80::1")
return (ip1 & mask1) == subnet1 and (ip2 & mask2) == subnet2, subnet1 == 0xfe80000000000000`, "true,true,true"},
		{"exact integers in rpc results", `return math.maxinteger, math.mininteger, (1 << 53) + 1, -(1 << 60)`,
			"true,0x7fffffffffffffff,0x8000000000000000,0x20000000000001,-0x1000000000000000"},
		{"exact integers in rpc arguments", `return (function(...) return select("#", ...), ... end)(0x7ffffffffffffffe + 1, 0xfe80000000000000)`,
			"true,2,0x7fffffffffffffff,-0x180000000000000"},
		{"_VERSION", `return _VERSION`, `true,"Lua 5.4"`},
		{"parse_ipv6 invalid", `return select("#", neosocksd.parse_ipv6("::1%eth0"))`, "true,0"},
		{"splithostport", `return neosocksd.splithostport("[::1]:443")`, `true,"::1","443"`},
		{"splithostport empty host", `return neosocksd.splithostport(":80")`, `true,"","80"`},
		{"splithostport invalid", `return pcall(neosocksd.splithostport, "nocolon")`, "true,false,\"invalid address: `nocolon'\""},
		{"config", `local c = neosocksd.config() return c.timeout, c.listen, c.loglevel, c.tcp_nodelay`, "true,5,nil,4,true"},
		{"stats", `local s = neosocksd.stats() return type(s.num_request), type(s.uptime), s.num_thread_active >= 1`, `true,"number","number",true`},
		{"now", `local n = neosocksd.now() return math.abs(n - os.time()) < 5`, "true,true"},
		{"setinterval type", `return pcall(neosocksd.setinterval, "x")`, ""},
		{"await.sleep", `await.sleep(0.001) await.sleep(0) return "ok"`, `true,"ok"`},
		{"await.idle", `await.idle() return 1`, "true,1"},
		{"await.resolve literal", `return await.resolve("127.0.0.1")`, `true,"127.0.0.1"`},
		{"await.resolve host:port", `return select("#", await.resolve("localhost:80"))`, "true,0"},
		{"await.execute exit", `return await.execute("exit 3")`, `true,nil,"exit",3`},
		{"await.execute ok", `return await.execute("true")`, `true,true,"exit",0`},
		{"await.execute signal", `return await.execute("kill -9 $$")`, `true,nil,"signal",9`},
		{"await.sleep bad arg", `return pcall(await.sleep, -1)`, ""},
		{"await.forward outside a request", `return pcall(await.forward, "a:1")`, ""},
		{"await.invoke bad address", `return pcall(await.invoke, "return 1")`, `true,false,"invalid address"`},
		{"future", `local f = async(function(a) await.sleep(0.005) return a * 2 end, 21) return f:get()`, "true,true,42"},
		{"future of error", `local f = async(function() await.sleep(0) error("bad", 0) end) return f:get()`, `true,false,"bad"`},
		{"await.callback", `return await.callback(function(cb) async(function() await.sleep(0.001) cb(5, 6) end) end)`, "true,5,6"},
		{"running inside pcall", `local co = coroutine.running()
local ok, same = pcall(function() await.sleep(0) return coroutine.running() == co end)
return ok, same, coroutine.isyieldable()`, "true,true,true,true"},
		{"future inside pcall", `return pcall(function() local f = async(function() await.sleep(0.001) return "v" end) return f:get() end)`, `true,true,true,"v"`},
		{"nested pcall", `return pcall(pcall, function() await.sleep(0) error("deep", 0) end)`, `true,true,false,"deep"`},
		{"xpcall traceback", `local ok, m = xpcall(function() error("x") end, neosocksd.traceback) return ok, m:find("stack traceback", 1, true) ~= nil`, "true,false,true"},
		{"yield inside gsub", `return pcall(string.gsub, "a", "a", function() await.sleep(0) end)`, ""},
		{"coroutine.wrap", `local g = coroutine.wrap(function(a) local b = coroutine.yield(a + 1) return b * 2 end) return g(1), g(10)`, "true,2,20"},
		{"generator in a for loop", `local s = 0
for v in coroutine.wrap(function() for i = 1, 3 do coroutine.yield(i) end end) do s = s + v end
return s`, "true,6"},
		{"await inside a generator's consumer", `local n = 0
for v in coroutine.wrap(function() coroutine.yield(1) coroutine.yield(2) end) do await.sleep(0) n = n + v end
return n`, "true,3"},
		{"resume a running routine", `local co = coroutine.running()
return pcall(function() return coroutine.resume(co) end)`, `true,true,false,"cannot resume non-suspended coroutine"`},
		{"status inside pcall", `local co = coroutine.running()
local ok, st = pcall(function() return coroutine.status(co) end) return st`, `true,"running"`},
		{"string.rep sep", `return string.rep("ab", 3, "-")`, `true,"ab-ab-ab"`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			body, err := te.RPCall(ctx, []byte(tc.code))
			if err != nil {
				t.Fatalf("rpcall: %v\n%s", err, te.log.String())
			}
			got := strings.TrimPrefix(string(body), "return ")
			if tc.want == "" {
				if !strings.HasPrefix(got, "true,false,") {
					t.Fatalf("got %s, want a caught error", got)
				}
				return
			}
			if got != tc.want {
				t.Fatalf("got %s, want %s", got, tc.want)
			}
		})
	}
}

func TestAsyncFromMainThread(t *testing.T) {
	te := loadTestRuleset(t, Options{}, "testdata/hooks.lua")
	te.invoke(t, `_G.co = neosocksd.async(function(ok, v) _G.fin = { ok, v } end, function(a) await.sleep(0.005) return a * 2 end, 21)
assert(type(_G.co) == "thread")
neosocksd.async(function(ok, err) _G.fin2 = { ok, err } end, function() error("oops", 0) end)
assert(_G.fin2[1] == false and _G.fin2[2] == "oops", "immediate failure")
assert(_G.fin == nil)`)
	deadline := time.Now().Add(5 * time.Second)
	for te.Invoke(context.Background(), []byte(`assert(_G.fin and _G.fin[1] == true and _G.fin[2] == 42)`)) != nil {
		if time.Now().After(deadline) {
			t.Fatal("finish never ran")
		}
		time.Sleep(5 * time.Millisecond)
	}
	if err := te.Invoke(context.Background(), []byte(`neosocksd.async(1, print)`)); err == nil {
		t.Error("async with a non-function finish accepted")
	}
}

func TestTracebackMode(t *testing.T) {
	c := configForTest()
	c.Traceback = true
	te := loadTestRuleset(t, Options{Config: c}, "testdata/basic.lua")
	err := te.Invoke(context.Background(), []byte(`local function f() error("deep") end f()`))
	if err == nil || !strings.Contains(err.Error(), "stack traceback") {
		t.Fatalf("invoke error without traceback: %v", err)
	}
	d := routeOf(t, te.Engine, 0, "error.test:1")
	if !strings.Contains(d.Reason, "boom") || !strings.Contains(d.Reason, "stack traceback") {
		t.Fatalf("callback error without traceback: %q", d.Reason)
	}
}
