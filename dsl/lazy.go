package dsl

import "sync"

// lazy is a package-level value that its first get builds. The parser,
// its lexer and the checker's word sets are lazy: a daemon that never
// loads a route table links the package all the same, and its
// initializer would otherwise build them (and touch the code that builds
// them) at every start. Unlike sync.OnceValue, a lazy declared with a
// composite literal costs the initializer no allocation.
type lazy[T any] struct {
	once    sync.Once
	build   func() T
	v       T
	built   bool // build returned
	failure any  // what build panicked with, when it did not return
}

// get returns the value, building it on the first call; calls from
// several goroutines wait for the one that builds it. If build panicked
// (a grammar participle rejects), every get panics with its value, as
// sync.OnceValue's function does.
func (l *lazy[T]) get() T {
	l.once.Do(l.run)
	if !l.built {
		panic(l.failure)
	}
	return l.v
}

func (l *lazy[T]) run() {
	defer func() {
		if !l.built {
			l.failure = recover()
		}
	}()
	l.v = l.build()
	l.built = true
}
