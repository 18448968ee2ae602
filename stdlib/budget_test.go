package stdlib

import (
	"bytes"
	"compress/zlib"
	"context"
	"io"
	"strings"
	"testing"

	lua "github.com/yuin/gopher-lua"
)

// deflateBomb returns a zlib stream of one never-ending fixed-Huffman
// block: a zero byte, then copies of 258 bytes at distance 1, 2064 output
// bytes per 13 input bytes, groups of them. The stream is truncated: a
// reader that gets to its end fails with an unexpected EOF.
func deflateBomb(groups int) []byte {
	var bits []bool
	put := func(v uint, n int, msbFirst bool) {
		for i := range n {
			if msbFirst {
				bits = append(bits, v>>(n-1-i)&1 == 1)
			} else {
				bits = append(bits, v>>i&1 == 1)
			}
		}
	}
	put(0, 1, false)   // BFINAL: not the last block
	put(1, 2, false)   // BTYPE: fixed Huffman codes
	put(0x30, 8, true) // literal 0
	for range 1 + 8 {  // one copy to reach a byte boundary, then a group of 8
		put(0xc5, 8, true) // length 258 (symbol 285)
		put(0, 5, true)    // distance 1
	}
	packed := make([]byte, len(bits)/8)
	for i, b := range bits {
		if b {
			packed[i/8] |= 1 << (i % 8)
		}
	}
	out := []byte{0x78, 0x01}
	out = append(out, packed[:3]...)
	return append(out, bytes.Repeat(packed[3:], groups)...)
}

func TestDeflateBombIsValid(t *testing.T) {
	r, err := zlib.NewReader(bytes.NewReader(deflateBomb(10)))
	if err != nil {
		t.Fatal(err)
	}
	out, err := io.ReadAll(r)
	if err != io.ErrUnexpectedEOF {
		t.Fatalf("err %v, want unexpected EOF at the truncation", err)
	}
	if want := 1 + 258*(1+8*10); len(out) != want || strings.Trim(string(out), "\x00") != "" {
		t.Fatalf("%d bytes (want %d zero bytes)", len(out), want)
	}
}

// TestNativeLoopsStopWhenContextEnds calls each native function whose work
// grows with its input on a thread whose context has already ended: each
// must raise the context's error (the host's budget error) instead of
// finishing the work. Calling a Go function directly runs no Lua
// instruction, so only the function's own polling can stop it.
func TestNativeLoopsStopWhenContextEnds(t *testing.T) {
	tests := []struct {
		name, setup, fn string
		args            []string // globals set by setup
	}{
		{name: "string.find", setup: `s = string.rep("a", 3000) p = string.rep("a-", 12) .. "b"`, fn: "string.find", args: []string{"s", "p"}},
		{name: "string.match", setup: `s = string.rep("a", 3000) p = string.rep("a-", 12) .. "b"`, fn: "string.match", args: []string{"s", "p"}},
		{name: "string.gsub", setup: `s = string.rep("a", 3000) p = string.rep("a-", 12) .. "b" r = ""`, fn: "string.gsub", args: []string{"s", "p", "r"}},
		{name: "string.gsub of many matches", setup: `s = string.rep("abcdefghijklmno.", 40000) p = "%." r = "/"`, fn: "string.gsub", args: []string{"s", "p", "r"}},
		{name: "gmatch iterator", setup: `it = string.gmatch(string.rep("a", 3000), string.rep("a-", 12) .. "b")`, fn: "it"},
		{name: "regex.find", setup: `re = regex.compile("[ab]{0,1000}c") s = string.rep("a", 2^20)`, fn: "regex.find", args: []string{"re", "s"}},
		{name: "regex.match", setup: `re = regex.compile("[ab]{0,1000}c") s = string.rep("a", 2^20)`, fn: "regex.match", args: []string{"re", "s"}},
		{name: "regex.gmatch iterator", setup: `it = regex.gmatch(regex.compile("[ab]{0,1000}c"), string.rep("a", 2^20))`, fn: "it"},
		{name: "table.sort", setup: `t = {} for i = 1, 2^16 do t[i] = (i * 7919) % 1000003 end`, fn: "table.sort", args: []string{"t"}},
		{name: "marshal of shared subtables", setup: `t = {} for i = 1, 40 do t = {t, t} end`, fn: "marshal", args: []string{"t"}},
		{name: "unmarshal", setup: `s = "{" .. string.rep("1,", 1e6) .. "}"`, fn: "require('libruleset.native').unmarshal", args: []string{"s"}},
		{name: "zlib.compress", setup: `s = string.rep("0123456789abcdef", 2^20)`, fn: "zlib.compress", args: []string{"s"}},
		{name: "zlib.gzip", setup: `s = string.rep("0123456789abcdef", 2^20)`, fn: "zlib.gzip", args: []string{"s"}},
		{name: "zlib.uncompress", setup: `s = bomb`, fn: "zlib.uncompress", args: []string{"s"}},
		{name: "zlib.gunzip of many members", setup: `s = string.rep(zlib.gzip(string.rep("\0", 2^20)), 64)`, fn: "zlib.gunzip", args: []string{"s"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			L := newTestState(t)
			L.SetGlobal("bomb", lua.LString(deflateBomb(1<<14)))
			if err := L.DoString(tc.setup); err != nil {
				t.Fatalf("setup: %v", err)
			}
			if err := L.DoString("f = " + tc.fn); err != nil {
				t.Fatalf("%s: %v", tc.fn, err)
			}
			ctx, cancel := context.WithCancel(context.Background())
			cancel()
			L.SetContext(ctx)
			L.Push(L.GetGlobal("f"))
			for _, a := range tc.args {
				L.Push(L.GetGlobal(a))
			}
			err := L.PCall(len(tc.args), lua.MultRet, nil)
			if err == nil || !strings.Contains(err.Error(), context.Canceled.Error()) {
				t.Fatalf("%s finished its work on an ended context: %v", tc.fn, err)
			}
		})
	}
}
