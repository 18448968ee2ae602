package ere

import "strings"

// Witnesses lets a test suite probe a regex where it decides: strings
// that match it and strings that barely do not, derived from the parsed
// expression rather than from its text.

// maxWitnesses bounds each of the two lists Witnesses returns.
const maxWitnesses = 24

// Witnesses returns strings that the pattern matches and near misses. The
// matches are a shortest one (each repetition at its minimum count, the
// first alternative of each alternation) and, one choice at a time, each
// other alternative and each repetition taken once more (or up to its
// maximum). The near misses, which mostly do not match, are each match
// with its first, middle or last byte changed, with text added before and
// after (so an anchor is tested), and each repetition one below its
// minimum and one above its maximum. Both lists are deterministic and hold
// at most 24 strings each. Anchors and back-references are satisfied as
// far as a single left-to-right choice can; word anchors are ignored.
func Witnesses(pattern string, flags Flags) (matches, near []string, err error) {
	if strings.IndexByte(pattern, 0) >= 0 {
		return nil, nil, &Error{Code: errEmbedNUL}
	}
	p := newParser(pattern, flags)
	tree := p.parse()
	if p.err != 0 {
		return nil, nil, &Error{Code: p.err}
	}
	if tree == nil {
		return []string{""}, []string{"x"}, nil
	}
	w := &witnesser{}
	w.choices(tree)
	add := AddWitness
	// a string cut short by the length cap is no witness of a match, but
	// still serves as a probe among the near misses
	match := func(at *node, v int) {
		if s, whole := w.gen(tree, at, v); whole {
			add(&matches, s)
		}
	}
	match(nil, 0)
	for _, c := range w.points {
		for _, v := range c.alts {
			match(c.n, v)
		}
	}
	for _, c := range w.points {
		for _, v := range c.misses {
			s, _ := w.gen(tree, c.n, v)
			add(&near, s)
		}
	}
	AddNearMisses(&near, matches)
	return matches, near, nil
}

// AddWitness appends s to list unless the list holds it already or is
// full (24 strings).
func AddWitness(list *[]string, s string) {
	for _, x := range *list {
		if x == s {
			return
		}
	}
	if len(*list) < maxWitnesses {
		*list = append(*list, s)
	}
}

// AddNearMisses adds to near what each match suggests as a near miss,
// whatever the pattern language: text before and after it, a '.' on
// either side (a prefix no word class takes: it tests a leading anchor),
// and one byte changed at its start, middle and end.
func AddNearMisses(near *[]string, matches []string) {
	for _, m := range matches {
		AddWitness(near, "x"+m)
		AddWitness(near, m+"x")
		AddWitness(near, "."+m)
		AddWitness(near, m+".")
	}
	for _, m := range matches {
		if m != "" {
			for _, i := range []int{0, len(m) / 2, len(m) - 1} {
				b := []byte(m)
				b[i] = changed(b[i])
				AddWitness(near, string(b))
			}
		}
	}
}

// changed returns a byte of another kind than b: a letter for a digit,
// a digit for a letter, a letter for anything else.
func changed(b byte) byte {
	switch {
	case b >= '0' && b <= '9':
		return 'q'
	case b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z':
		return '7'
	}
	return 'q'
}

// choicePoint is an alternation or repetition whose choice can vary:
// alts are the other choices that still match, misses those that do not.
type choicePoint struct {
	n      *node
	alts   []int
	misses []int
}

type witnesser struct {
	points []choicePoint
	groups map[int]string
	short  bool // the last gen stopped a repetition at the length cap
}

// maxWitnessLen caps a generated string: a repetition stops growing it
// there, even below its minimum count.
const maxWitnessLen = 256

func (w *witnesser) choices(n *node) {
	switch n.kind {
	case nAlt:
		var alts []int
		for i := 1; i < len(n.subs); i++ {
			alts = append(alts, i)
		}
		w.points = append(w.points, choicePoint{n: n, alts: alts})
	case nRepeat:
		c := choicePoint{n: n}
		if n.max < 0 || n.max > n.min {
			c.alts = append(c.alts, n.min+1)
		}
		if n.max > n.min+1 && n.max <= 8 {
			c.alts = append(c.alts, n.max)
		}
		if n.max < 0 {
			c.alts = append(c.alts, n.min+2)
		}
		if n.min > 0 {
			c.misses = append(c.misses, n.min-1)
		}
		if n.max >= 0 && n.max < 8 {
			c.misses = append(c.misses, n.max+1)
		}
		w.points = append(w.points, c)
	}
	for _, s := range n.subs {
		if s != nil {
			w.choices(s)
		}
	}
}

// gen builds one string for n with the choice v at point at (nil: every
// choice at its default); whole is false when the length cap cut a
// repetition short.
func (w *witnesser) gen(n *node, at *node, v int) (s string, whole bool) {
	w.groups = map[int]string{}
	w.short = false
	b := make([]byte, 0, 32)
	s = string(w.emit(b, n, at, v))
	return s, !w.short
}

func (w *witnesser) emit(b []byte, n *node, at *node, v int) []byte {
	switch n.kind {
	case nSet:
		return append(b, pick(&n.set))
	case nConcat:
		for _, s := range n.subs {
			if s != nil {
				b = w.emit(b, s, at, v)
			}
		}
	case nAlt:
		i := 0
		if n == at {
			i = v
		}
		if i < len(n.subs) && n.subs[i] != nil {
			b = w.emit(b, n.subs[i], at, v)
		}
	case nGroup:
		start := len(b)
		if len(n.subs) > 0 && n.subs[0] != nil {
			b = w.emit(b, n.subs[0], at, v)
		}
		w.groups[n.idx] = string(b[start:])
	case nRepeat:
		k := n.min
		if n == at {
			k = v
		}
		for i := 0; i < k && n.subs[0] != nil; i++ {
			if len(b) >= maxWitnessLen {
				w.short = true
				break
			}
			b = w.emit(b, n.subs[0], at, v)
		}
	case nBackref:
		b = append(b, w.groups[n.idx]...)
	}
	return b
}

// pick chooses a byte from s, preferring ones that read well in host
// names: lower-case letters, digits, then '.', '-', ':'.
func pick(s *charSet) byte {
	for _, c := range []byte("abcdefghijklmnopqrstuvwxyz0123456789.-:_ABCDEFGHIJKLMNOPQRSTUVWXYZ[]/") {
		if s.has(c) {
			return c
		}
	}
	for c := 1; c < 256; c++ {
		if s.has(byte(c)) {
			return byte(c)
		}
	}
	return 0
}
