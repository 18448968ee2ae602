package dsl

import (
	"container/heap"
	"sort"

	"github.com/neosocksd-go/neosocksd/core/addr"
)

// minSegment is the shortest run of simple rules merged into one index
// (design §6).
const minSegment = 8

// CompileOptions tune the Go engine. The zero value is the production
// setting.
type CompileOptions struct {
	// NoIndex turns the segment index off: every rule is evaluated one by
	// one (the conformance suite's engine G0).
	NoIndex bool
}

// segment replaces a run of adjacent rules whose matchers are each one
// exact, host, domain or cidr set of the same kind: one lookup gives the
// smallest rule (offset from start) that matches.
type segment struct {
	start, end int     // rules[start:end]
	kind       segKind // what is looked up
	keys       map[string]int32
	ivals      []ival // cidr: disjoint sorted intervals, first writer wins
}

type segKind uint8

const (
	segNone segKind = iota
	segExact
	segHost
	segDomain
	segCIDR4
	segCIDR6
)

// ival is an interval of addresses (IPv4 in the low word) and the offset
// of the first rule of the run that covers it.
type ival struct {
	lo, hi u128
	rule   int32
}

func segKindOf(r *ruleRT) segKind {
	if r.call != nil {
		return segNone
	}
	switch m := r.m.(type) {
	case *strSet:
		switch m.kind {
		case KExact:
			return segExact
		case KHost:
			return segHost
		case KDomain:
			return segDomain
		}
	case *cidr4M:
		return segCIDR4
	case *cidr6M:
		return segCIDR6
	}
	return segNone
}

// buildSegments finds the runs of c worth indexing.
func buildSegments(c *chainRT) {
	n := len(c.rules)
	for i := 0; i < n; {
		k := segKindOf(c.rules[i])
		j := i + 1
		for j < n && k != segNone && segKindOf(c.rules[j]) == k {
			j++
		}
		if k != segNone && j-i >= minSegment {
			if c.segs == nil {
				c.segs = make([]*segment, n)
			}
			c.segs[i] = newSegment(c.rules[i:j], i, k)
		}
		i = j
	}
}

func newSegment(rules []*ruleRT, start int, k segKind) *segment {
	sg := &segment{start: start, end: start + len(rules), kind: k}
	switch k {
	case segExact, segHost, segDomain:
		sg.keys = map[string]int32{}
		for off, r := range rules {
			for key := range r.m.(*strSet).m {
				if _, ok := sg.keys[key]; !ok {
					sg.keys[key] = int32(off)
				}
			}
		}
	case segCIDR4:
		var in []ival
		for off, r := range rules {
			for _, x := range r.m.(*cidr4M).r {
				in = append(in, ival{u128{0, uint64(x.lo)}, u128{0, uint64(x.hi)}, int32(off)})
			}
		}
		sg.ivals = firstWriter(in)
	case segCIDR6:
		var in []ival
		for off, r := range rules {
			for _, x := range r.m.(*cidr6M).r {
				in = append(in, ival{x.lo, x.hi, int32(off)})
			}
		}
		sg.ivals = firstWriter(in)
	}
	return sg
}

// lookup returns the offset of the first rule of the run matching v, -1
// for none, or errMatch when the run's first rule would raise.
func (sg *segment) lookup(v *view) (int, tri) {
	switch sg.kind {
	case segExact:
		if off, ok := sg.keys[lowerKey(v)]; ok {
			return int(off), isMatch
		}
		return -1, noMatch
	case segHost:
		if !v.doSplit() {
			return 0, errMatch
		}
		if off, ok := sg.keys[v.lowerHost()]; ok {
			return int(off), isMatch
		}
		return -1, noMatch
	case segDomain:
		if !v.doSplit() {
			return 0, errMatch
		}
		h := v.domainHost()
		if h == "" {
			return -1, noMatch
		}
		// A shorter suffix may belong to an earlier rule: take the minimum.
		best := int32(-1)
		for j := 0; ; {
			if off, ok := sg.keys[h[j:]]; ok && (best < 0 || off < best) {
				best = off
			}
			k := indexByteFrom(h, '.', j)
			if k < 0 {
				break
			}
			j = k + 1
		}
		if best < 0 {
			return -1, noMatch
		}
		return int(best), isMatch
	}
	if !v.ipOK {
		return 0, errMatch
	}
	var ip u128
	if sg.kind == segCIDR4 {
		ip = u128{0, uint64(v.ip4)}
	} else {
		ip = u128(v.ip6)
	}
	i := sort.Search(len(sg.ivals), func(i int) bool { return !less128(sg.ivals[i].hi, ip) })
	if i < len(sg.ivals) && !less128(ip, sg.ivals[i].lo) {
		return int(sg.ivals[i].rule), isMatch
	}
	return -1, noMatch
}

// lowerKey is the lower-cased address of v, kept in the view so that
// later exact matchers do not lower it again.
func lowerKey(v *view) string {
	if !v.laDone {
		v.laddr, v.laDone = addr.Lower(v.addr), true
	}
	return v.laddr
}

// firstWriter flattens overlapping intervals into disjoint ones, each
// labelled with the smallest rule offset covering it (a sweep over the
// interval ends with a min-heap of the active rules).
func firstWriter(in []ival) []ival {
	type ev struct {
		at   u128
		end  bool // the interval ended just before at
		rule int32
		inf  bool // end beyond the address space
	}
	evs := make([]ev, 0, 2*len(in))
	for _, x := range in {
		evs = append(evs, ev{at: x.lo, rule: x.rule})
		nx, over := add1(x.hi)
		evs = append(evs, ev{at: nx, end: true, rule: x.rule, inf: over})
	}
	sort.Slice(evs, func(i, j int) bool {
		a, b := evs[i], evs[j]
		if a.inf != b.inf {
			return !a.inf
		}
		return less128(a.at, b.at)
	})
	active := map[int32]int{}
	h := &ruleHeap{}
	var out []ival
	top := func() int32 {
		for h.Len() > 0 && active[(*h)[0]] == 0 {
			heap.Pop(h)
		}
		if h.Len() == 0 {
			return -1
		}
		return (*h)[0]
	}
	for i := 0; i < len(evs); {
		at, inf := evs[i].at, evs[i].inf
		if inf {
			break
		}
		for i < len(evs) && !evs[i].inf && evs[i].at == at {
			if evs[i].end {
				active[evs[i].rule]--
			} else {
				if active[evs[i].rule] == 0 {
					heap.Push(h, evs[i].rule)
				}
				active[evs[i].rule]++
			}
			i++
		}
		r := top()
		if r < 0 {
			continue
		}
		// The label holds from at up to the next event (exclusive).
		hi := u128{^uint64(0), ^uint64(0)}
		if i < len(evs) && !evs[i].inf {
			hi = sub1(evs[i].at)
		}
		if n := len(out); n > 0 && out[n-1].rule == r {
			if nx, over := add1(out[n-1].hi); !over && nx == at {
				out[n-1].hi = hi
				continue
			}
		}
		out = append(out, ival{at, hi, r})
	}
	return out
}

func add1(a u128) (u128, bool) {
	a[1]++
	if a[1] == 0 {
		a[0]++
		if a[0] == 0 {
			return a, true
		}
	}
	return a, false
}

func sub1(a u128) u128 {
	if a[1] == 0 {
		a[0]--
	}
	a[1]--
	return a
}

type ruleHeap []int32

func (h ruleHeap) Len() int           { return len(h) }
func (h ruleHeap) Less(i, j int) bool { return h[i] < h[j] }
func (h ruleHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *ruleHeap) Push(x any)        { *h = append(*h, x.(int32)) }
func (h *ruleHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}
