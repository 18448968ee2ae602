package stdlib

import (
	"testing"

	lua "github.com/yuin/gopher-lua"
)

// loadValues evaluates "return "..s in an empty environment with the
// runtime's loader (the slow path of unmarshal).
func loadValues(t testing.TB, L *lua.LState, s string) ([]lua.LValue, error) {
	t.Helper()
	if err := L.DoString(`function __slow_unmarshal(s)
		local f = assert(loadstring("return " .. s, "=(unmarshal)"))
		setfenv(f, {})
		return f()
	end`); err != nil {
		t.Fatal(err)
	}
	top := L.GetTop()
	if err := L.CallByParam(lua.P{Fn: L.GetGlobal("__slow_unmarshal"), NRet: lua.MultRet, Protect: true}, lua.LString(s)); err != nil {
		return nil, err
	}
	var out []lua.LValue
	for i := top + 1; i <= L.GetTop(); i++ {
		out = append(out, L.Get(i))
	}
	L.SetTop(top)
	return out, nil
}

func TestUnmarshal(t *testing.T) {
	L := newTestState(t)
	tests := []struct {
		name string
		in   string
		fast bool
	}{
		{"empty", "", true},
		{"scalars", `nil,true,false,0,-3,999999999999`, true},
		{"hex", `0xe8d4a51000,-0xe8d4a51000,0x8000000000000000`, true},
		{"floats", `0x1.8p+0,-0x1.4p+1,0x1p-1074,0/0,1/0,-1/0`, true},
		{"strings", `"a\"b\\c\` + "\n" + `d\000\127é"`, true},
		{"tables", `{1,2,[4]=4,["k"]={},}`, true},
		{"last comma optional", `{1,2}`, true},
		{"keyed after positional", `{"a",[2]="b",}`, true},
		{"collision", `{[1]="a","b",}`, false},
		{"nil key", `{[nil]=1,}`, false},
		{"arithmetic", `1+1`, false},
		{"spaces", `1, 2`, false},
		{"decimal float", `1.5`, false},
		{"exponent", `1e3`, false},
		{"leading zero", `01`, false},
		{"minus zero int", `-0`, false},
		{"other escape", `"\n"`, false},
		{"single quotes", `'a'`, false},
		{"names", `x`, false},
		{"long hex", `0x10000000000000000`, false},
		{"hex above maxinteger wraps", `0xffffffffffffffff,-0xffffffffffffffff,0xfe80000000000000`, true},
		{"18 digits", `123456789012345678,-123456789012345678`, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			fast, ok := Unmarshal(L, tc.in)
			if ok != tc.fast {
				t.Fatalf("Unmarshal(%q) ok = %v, want %v", tc.in, ok, tc.fast)
			}
			slow, err := loadValues(t, L, tc.in)
			if ok {
				if err != nil {
					t.Fatalf("native path accepts %q, the loader says %v", tc.in, err)
				}
				if len(fast) != len(slow) {
					t.Fatalf("%d values, loader %d", len(fast), len(slow))
				}
				for i := range fast {
					if !compareValue(fast[i], slow[i], true) {
						t.Errorf("value %d: %v, loader %v", i, fast[i], slow[i])
					}
				}
			}
		})
	}
	// the Lua function falls back to the loader outside the subset
	err := L.DoString(`require "libruleset"
		assert(unmarshal("1+1") == 2)
		local t = unmarshal('{[1]="a","b",}')
		assert(t[1] == "b")
		assert(select("#", unmarshal("")) == 0)
		assert(not pcall(unmarshal, "{"))
		assert(not pcall(unmarshal, "math.huge"))`)
	if err != nil {
		t.Fatal(err)
	}
}

// FuzzUnmarshal checks the native reader against the loader on arbitrary
// text: whatever the native path accepts, the loader must read alike.
func FuzzUnmarshal(f *testing.F) {
	for _, s := range []string{"", "nil", `{1,[2]=3,}`, `"a\"\\\n\001"`, "0x1.8p+0,-1/0", "0x8000000000000000",
		`{{},{[true]=false},}`, "-0.0", "999999999999999", `{[1.5]=0x1p-1074,}`} {
		f.Add(s)
	}
	L := newTestState(f)
	f.Fuzz(func(t *testing.T, s string) {
		fast, ok := Unmarshal(L, s)
		if !ok {
			return
		}
		slow, err := loadValues(t, L, s)
		if err != nil {
			t.Fatalf("native path accepts %q, the loader says %v", s, err)
		}
		if len(fast) != len(slow) {
			t.Fatalf("%q: %d values, loader %d", s, len(fast), len(slow))
		}
		for i := range fast {
			// the loader merges 0 and -0.0 constants (reported)
			if !compareValue(fast[i], slow[i], true) {
				t.Fatalf("%q: value %d = %v, loader %v", s, i, fast[i], slow[i])
			}
		}
	})
}
