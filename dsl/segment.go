package dsl

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
// indexable matcher of the same group: one lookup gives the smallest rule
// (offset from start) that matches.
type segment struct {
	start, end int // rules[start:end]
	idx        runIndex
}

// indexable is a compiled matcher that a run of adjacent rules can share
// one index with. A kind whose matchers are not indexable is evaluated
// rule by rule; segment.go needs no edit for it.
type indexable interface {
	matcher
	// indexGroup returns the group of the matcher: adjacent rules whose
	// matchers have equal groups share one index.
	indexGroup() indexGroup
}

// indexGroup is a comparable value naming a kind of index.
type indexGroup interface {
	// newIndex returns an empty index for a run of the group.
	newIndex() runIndex
}

// runIndex is the index of one run.
type runIndex interface {
	// add adds the matcher of the rule at offset off of the run (offsets
	// increase; every matcher is of the index's group).
	add(m matcher, off int32)
	// seal is called once after the last add.
	seal()
	// lookup returns the offset of the first rule of the run matching v,
	// -1 for none, or errMatch when the run's first rule would raise.
	lookup(v *view) (int, tri)
}

// groupOf returns the index group of rule r, or nil if r cannot join one.
func groupOf(r *ruleRT) indexGroup {
	if r.call != nil {
		return nil
	}
	if m, ok := r.m.(indexable); ok {
		return m.indexGroup()
	}
	return nil
}

// buildSegments finds the runs of c worth indexing.
func buildSegments(c *chainRT) {
	n := len(c.rules)
	for i := 0; i < n; {
		g := groupOf(c.rules[i])
		j := i + 1
		for j < n && g != nil && groupOf(c.rules[j]) == g {
			j++
		}
		if g != nil && j-i >= minSegment {
			if c.segs == nil {
				c.segs = make([]*segment, n)
			}
			c.segs[i] = newSegment(c.rules[i:j], i, g)
		}
		i = j
	}
}

func newSegment(rules []*ruleRT, start int, g indexGroup) *segment {
	sg := &segment{start: start, end: start + len(rules), idx: g.newIndex()}
	for off, r := range rules {
		sg.idx.add(r.m, int32(off))
	}
	sg.idx.seal()
	return sg
}

// lookup returns the offset of the first rule of the run matching v, -1
// for none, or errMatch when the run's first rule would raise.
func (sg *segment) lookup(v *view) (int, tri) { return sg.idx.lookup(v) }
