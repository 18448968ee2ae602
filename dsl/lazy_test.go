package dsl

import (
	"sync"
	"testing"
)

// TestLazyBuildsOnce: concurrent gets build the value once and all see it
// (run with -race).
func TestLazyBuildsOnce(t *testing.T) {
	builds := 0
	l := lazy[*int]{build: func() *int { builds++; v := 42; return &v }}
	const workers = 8
	got := make([]*int, workers)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			got[w] = l.get()
		}()
	}
	wg.Wait()
	if builds != 1 {
		t.Fatalf("built %d times", builds)
	}
	for w, p := range got {
		if p != got[0] || *p != 42 {
			t.Fatalf("get %d = %p (%d), get 0 = %p", w, p, *p, got[0])
		}
	}
}

// TestLazyFailsLoudly: a build that panics makes every get panic with its
// value, not return a zero value after the first.
func TestLazyFailsLoudly(t *testing.T) {
	l := lazy[*int]{build: func() *int { panic("bad grammar") }}
	for i := range 3 {
		func() {
			defer func() {
				if r := recover(); r != "bad grammar" {
					t.Errorf("get %d recovered %v, want the build's panic", i, r)
				}
			}()
			l.get()
			t.Errorf("get %d returned", i)
		}()
	}
}

// TestGrammarBuilds: the lazily built lexer and parser build (their
// construction panics on a grammar or rule participle rejects).
func TestGrammarBuilds(t *testing.T) {
	if nrtLexer.get() == nil || parser.get() == nil {
		t.Fatal("no lexer or parser")
	}
	if kw := keywords.get(); !kw["route"] || kw["routes"] {
		t.Errorf("keywords: route %v, routes %v", kw["route"], kw["routes"])
	}
	if g := luaGlobals.get(); !g["_G"] || g["blocklist"] {
		t.Errorf("luaGlobals: _G %v, blocklist %v", g["_G"], g["blocklist"])
	}
}

// TestStrKindImpls: the string kinds spelled out by StrKind are the ones
// registered under their words.
func TestStrKindImpls(t *testing.T) {
	for k := range strKindImpls {
		kind, ok := kindByWord(StrKind(k).String())
		if !ok || kind != matcherKind(strKindImpls[k]) {
			t.Errorf("strKindImpls[%s] = %T, registered %T", StrKind(k), strKindImpls[k], kind)
		}
	}
}
