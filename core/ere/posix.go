package ere

import "math/bits"

// Submatch resolution the glibc way. Go's regexp finds the overall
// leftmost-longest match; which path through the pattern produced it (and
// so the group offsets) is then decided here by replaying glibc's rules:
//
//   - The pattern becomes glibc's tree: alternations and concatenations
//     nest to the left, x{n,m} is expanded into n copies followed by
//     nested optional copies, groups directly wrapping a group are merged,
//     and nodes are numbered in post-order.
//   - glibc duplicates the nodes that follow an anchor within one epsilon
//     closure, and only paths to one END node (the plain one if it can be
//     reached, else the one behind the first anchor) count. States here are
//     (node, anchor tag) pairs to reproduce that. Copies made by
//     duplicate_tree lose the "optional group" mark, as in glibc.
//   - The states that can still lead to the end of the match at each
//     position are computed backwards ("sifted" states).
//   - The path is walked forward from the match start: at a branch, the
//     destination with the lowest node number that is still viable wins,
//     except that a destination already passed without consuming input is
//     skipped in favour of the other one; group registers are updated as
//     glibc's update_regs does, including its rule that an empty
//     iteration of an optional group restores the previous registers.
//
// Anything unexpected (a dead end, a step budget exceeded) falls back to
// Go's own submatches.

type gkind uint8

const (
	gChar gkind = iota
	gAnchor
	gOpen
	gClose
	gAlt
	gStar
	gConcat
	gSubexp
	gEnd
)

type gtree struct {
	kind        gkind
	left, right *gtree
	set         charSet
	anchor      anchorKind
	idx         int // group number (1-based)
	opt         bool
	id          int
	first, next *gtree
}

// dup copies a subtree; like glibc's duplicate_tree, the copy loses the
// optional marks.
func (t *gtree) dup() *gtree {
	if t == nil {
		return nil
	}
	c := *t
	c.opt = false
	c.left, c.right = t.left.dup(), t.right.dup()
	return &c
}

func markOpt(t *gtree, idx int) {
	if t == nil {
		return
	}
	if t.kind == gSubexp && t.idx == idx {
		t.opt = true
	}
	markOpt(t.left, idx)
	markOpt(t.right, idx)
}

// gbuilder converts the parse tree to glibc's tree.
type gbuilder struct {
	icase bool
	bad   bool // a construct the resolver does not model
	size  int
}

// Limits of the replay: tree nodes, (node, tag) states, and positions
// times states per resolution. Beyond them Go's submatches are used.
const (
	maxResolverNodes  = 4096
	maxResolverStates = 1 << 15
)

func (b *gbuilder) node(t gtree) *gtree {
	b.size++
	if b.size > maxResolverNodes {
		b.bad = true
	}
	return &t
}

func (b *gbuilder) build(n *node) *gtree {
	if b.bad {
		return nil
	}
	switch n.kind {
	case nEmpty:
		return nil
	case nSet:
		s := n.set
		if b.icase {
			s = fold(s)
		}
		return b.node(gtree{kind: gChar, set: s})
	case nAnchor:
		return b.node(gtree{kind: gAnchor, anchor: n.anchor})
	case nConcat:
		var t *gtree
		for _, s := range n.subs {
			c := b.build(s)
			switch {
			case c == nil:
			case t == nil:
				t = c
			default:
				t = b.node(gtree{kind: gConcat, left: t, right: c})
			}
		}
		return t
	case nAlt:
		t := b.build(n.subs[0])
		for _, s := range n.subs[1:] {
			t = b.node(gtree{kind: gAlt, left: t, right: b.build(s)})
		}
		return t
	case nGroup:
		return b.node(gtree{kind: gSubexp, idx: n.idx, left: b.build(n.subs[0])})
	case nRepeat:
		return b.repeat(n)
	}
	b.bad = true // back-references
	return nil
}

// repeat expands x{min,max} as glibc's parse_dup_op does.
func (b *gbuilder) repeat(n *node) *gtree {
	lo, hi := n.min, n.max
	if lo == 0 && hi == 0 {
		return nil
	}
	elem := b.build(n.subs[0])
	if elem == nil {
		return nil
	}
	var old *gtree
	if lo > 0 {
		t := elem
		for i := 2; i <= lo; i++ {
			if b.bad {
				return nil
			}
			elem = b.copy(elem)
			t = b.node(gtree{kind: gConcat, left: t, right: elem})
		}
		if lo == hi {
			return t
		}
		elem = b.copy(elem)
		if b.bad {
			return nil
		}
		old = t
	}
	if elem.kind == gSubexp {
		markOpt(elem, elem.idx)
	}
	var t *gtree
	if hi == -1 {
		t = b.node(gtree{kind: gStar, left: elem})
	} else {
		t = b.node(gtree{kind: gAlt, left: elem})
		for i := lo + 2; i <= hi; i++ {
			if b.bad {
				return nil
			}
			elem = b.copy(elem)
			t = b.node(gtree{kind: gConcat, left: t, right: elem})
			t = b.node(gtree{kind: gAlt, left: t})
		}
	}
	if old != nil {
		t = b.node(gtree{kind: gConcat, left: old, right: t})
	}
	return t
}

func (b *gbuilder) copy(t *gtree) *gtree {
	if b.bad {
		return nil
	}
	c := t.dup()
	var count func(*gtree)
	count = func(x *gtree) {
		if x == nil {
			return
		}
		b.size++
		count(x.left)
		count(x.right)
	}
	count(c)
	if b.size > maxResolverNodes {
		b.bad = true
	}
	return c
}

// gnfa is glibc's NFA for one pattern.
type gnfa struct {
	kind     []gkind
	set      []charSet
	anchor   []anchorKind
	idx      []int
	opt      []bool
	next     []int   // for gChar
	edests   [][]int // for epsilon nodes, ascending
	init     int     // the first node
	end      int     // the END node
	groupMap []int   // groupMap[g] = the group whose registers g reports
	tagOf    []int   // tag of each anchor node (1-based), 0 for others
	ntags    int
	fwdEdges [][]int // epsilon edges between (node, tag) states
	revEdges [][]int
	newline  bool
	ngroups  int
}

func isEpsilon(k gkind) bool { return k != gChar && k != gEnd }

// newResolver builds the NFA, or returns nil when the pattern does not need
// or does not fit the resolver.
func newResolver(tree *node, flags Flags, nsub int) *gnfa {
	if nsub == 0 || tree == nil || !needsResolver(tree) {
		return nil
	}
	b := &gbuilder{icase: flags&ICase != 0}
	t := b.build(tree)
	if b.bad {
		return nil
	}
	g := &gnfa{newline: flags&Newline != 0, ngroups: nsub, groupMap: make([]int, nsub+1)}
	for i := range g.groupMap {
		g.groupMap[i] = i
	}
	g.optimize(t)
	t = lower(t)
	end := &gtree{kind: gEnd}
	if t == nil {
		t = end
	} else {
		t = &gtree{kind: gConcat, left: t, right: end}
	}
	var nodes []*gtree
	var number func(*gtree)
	number = func(x *gtree) {
		if x == nil {
			return
		}
		number(x.left)
		number(x.right)
		if x.kind == gConcat {
			x.first = x.left.first
			return
		}
		x.first = x
		x.id = len(nodes)
		nodes = append(nodes, x)
	}
	number(t)
	var link func(*gtree)
	link = func(x *gtree) {
		if x == nil {
			return
		}
		switch x.kind {
		case gStar:
			x.left.next = x
		case gConcat:
			x.left.next = x.right.first
			x.right.next = x.next
		default:
			if x.left != nil {
				x.left.next = x.next
			}
			if x.right != nil {
				x.right.next = x.next
			}
		}
		link(x.left)
		link(x.right)
	}
	link(t)
	n := len(nodes)
	g.kind = make([]gkind, n)
	g.set = make([]charSet, n)
	g.anchor = make([]anchorKind, n)
	g.idx = make([]int, n)
	g.opt = make([]bool, n)
	g.next = make([]int, n)
	g.edests = make([][]int, n)
	for i, x := range nodes {
		g.kind[i], g.set[i], g.anchor[i], g.idx[i], g.opt[i] = x.kind, x.set, x.anchor, x.idx, x.opt
		g.next[i] = -1
		if x.next != nil {
			g.next[i] = x.next.first.id
		}
		switch x.kind {
		case gAlt, gStar:
			l, r := g.next[i], g.next[i]
			if x.left != nil {
				l = x.left.first.id
			}
			if x.right != nil {
				r = x.right.first.id
			}
			switch {
			case l == r:
				g.edests[i] = []int{l}
			case l < r:
				g.edests[i] = []int{l, r}
			default:
				g.edests[i] = []int{r, l}
			}
		case gAnchor, gOpen, gClose:
			g.edests[i] = []int{g.next[i]}
		}
	}
	g.init = t.first.id
	g.end = end.id
	g.tagOf = make([]int, n)
	for i := range n {
		if g.kind[i] == gAnchor {
			g.ntags++
			g.tagOf[i] = g.ntags
		}
	}
	if n*(g.ntags+1) > maxResolverStates {
		return nil
	}
	g.edges()
	return g
}

// needsResolver reports whether Go's priority rules could pick other
// submatches than glibc: a group inside a repetition or alternation, or an
// alternation whose first branch is empty (glibc tries "(|a)" as "(a|)").
func needsResolver(n *node) bool {
	var walk func(*node, bool) bool
	walk = func(n *node, inside bool) bool {
		if n.kind == nGroup && inside || n.kind == nAlt && n.subs[0].kind == nEmpty {
			return true
		}
		inside = inside || n.kind == nRepeat || n.kind == nAlt
		for _, s := range n.subs {
			if walk(s, inside) {
				return true
			}
		}
		return false
	}
	return walk(n, false)
}

// optimize merges a group whose body is directly another group, as
// glibc's optimize_subexps does (pre-order, one level per node).
func (g *gnfa) optimize(t *gtree) {
	if t == nil {
		return
	}
	if t.kind == gSubexp && t.left != nil && t.left.kind == gSubexp {
		inner := t.left.idx
		t.left = t.left.left
		g.groupMap[inner] = g.groupMap[t.idx]
	}
	g.optimize(t.left)
	g.optimize(t.right)
}

// lower turns each group into open, body, close.
func lower(t *gtree) *gtree {
	if t == nil {
		return nil
	}
	t.left, t.right = lower(t.left), lower(t.right)
	if t.kind != gSubexp {
		return t
	}
	op := &gtree{kind: gOpen, idx: t.idx, opt: t.opt}
	cl := &gtree{kind: gClose, idx: t.idx, opt: t.opt}
	body := cl
	if t.left != nil {
		body = &gtree{kind: gConcat, left: t.left, right: cl}
	}
	return &gtree{kind: gConcat, left: op, right: body}
}

func isWordByte(c byte) bool { return isAlnum(c) || c == '_' }

func (g *gnfa) anchorOK(a anchorKind, s string, i int) bool {
	prevWord := i > 0 && isWordByte(s[i-1])
	nextWord := i < len(s) && isWordByte(s[i])
	switch a {
	case aLineStart:
		return i == 0 || g.newline && s[i-1] == '\n'
	case aLineEnd:
		return i == len(s) || g.newline && s[i] == '\n'
	case aBufStart:
		return i == 0
	case aBufEnd:
		return i == len(s)
	case aWordStart:
		return !prevWord && nextWord
	case aWordEnd:
		return prevWord && !nextWord
	case aWordBound:
		return prevWord != nextWord
	case aNotWordBound:
		return prevWord == nextWord
	}
	return false
}

type bitset []uint64

func newBitset(n int) bitset    { return make(bitset, (n+63)/64) }
func (b bitset) has(i int) bool { return b[i>>6]&(1<<(i&63)) != 0 }
func (b bitset) add(i int)      { b[i>>6] |= 1 << (i & 63) }
func (b bitset) clear()         { clear(b) }

const maxResolverWork = 1 << 18

// States are (node, tag) pairs: glibc duplicates the nodes reached through
// an anchor within one epsilon closure, so the END reached through an anchor
// is another node than the plain END, and only paths to the chosen halt
// node count. tag 0 is "no anchor since the last character", tag k the k-th
// anchor node (in node order) that the closure passed first.

func (g *gnfa) state(x, tag int) int { return tag*len(g.kind) + x }

// edges precomputes, for every epsilon state, its destinations (before
// the anchor check) and the reverse edges.
func (g *gnfa) edges() {
	n := len(g.kind)
	ns := n * (g.ntags + 1)
	g.fwdEdges = make([][]int, ns)
	g.revEdges = make([][]int, ns)
	for st := range ns {
		x, tag := st%n, st/n
		if !isEpsilon(g.kind[x]) {
			continue
		}
		if g.kind[x] == gAnchor && tag == 0 {
			tag = g.tagOf[x]
		}
		for _, d := range g.edests[x] {
			ds := g.state(d, tag)
			g.fwdEdges[st] = append(g.fwdEdges[st], ds)
			g.revEdges[ds] = append(g.revEdges[ds], st)
		}
	}
}

// passes reports whether epsilon state st may be crossed at pos.
func (g *gnfa) passes(st int, s string, pos int) bool {
	x := st % len(g.kind)
	return g.kind[x] != gAnchor || g.anchorOK(g.anchor[x], s, pos)
}

// each calls f for every member of b.
func (b bitset) each(f func(int)) {
	for w, word := range b {
		for word != 0 {
			f(w*64 + bits.TrailingZeros64(word))
			word &= word - 1
		}
	}
}

// resolve returns the glibc registers for the match [so, eo) of s, or nil.
func (g *gnfa) resolve(s string, so, eo int) []int {
	n := len(g.kind)
	ns := n * (g.ntags + 1)
	span := eo - so + 1
	if span*ns > maxResolverWork {
		return nil
	}
	words := (ns + 63) / 64
	block := make([]uint64, 2*span*words)
	fwd := make([]bitset, span)
	valid := make([]bitset, span)
	for k := range span {
		fwd[k] = block[2*k*words : (2*k+1)*words]
		valid[k] = block[(2*k+1)*words : (2*k+2)*words]
	}
	stack := make([]int, 0, 16)
	// forward: states reachable from the start at each position
	stack = append(stack, g.state(g.init, 0))
	for k := range span {
		set, pos := fwd[k], so+k
		for len(stack) > 0 {
			st := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			if set.has(st) {
				continue
			}
			set.add(st)
			if isEpsilon(g.kind[st%n]) && g.passes(st, s, pos) {
				stack = append(stack, g.fwdEdges[st]...)
			}
		}
		if k == span-1 {
			break
		}
		c := s[pos]
		set.each(func(st int) {
			if x := st % n; g.kind[x] == gChar && g.set[x].has(c) {
				stack = append(stack, g.state(g.next[x], 0))
			}
		})
	}
	// the halt state: the plain END if reachable, else the END duplicated
	// through the first anchor
	halt := -1
	for tag := 0; tag <= g.ntags && halt < 0; tag++ {
		if st := g.state(g.end, tag); fwd[span-1].has(st) {
			halt = st
		}
	}
	if halt < 0 {
		return nil
	}
	// backward: states that can still reach the halt state
	for k := span - 1; k >= 0; k-- {
		v, pos := valid[k], so+k
		stack = stack[:0]
		if k == span-1 {
			v.add(halt)
			stack = append(stack, halt)
		} else {
			c := s[pos]
			fwd[k].each(func(st int) {
				if x := st % n; g.kind[x] == gChar && g.set[x].has(c) && valid[k+1].has(g.state(g.next[x], 0)) {
					v.add(st)
					stack = append(stack, st)
				}
			})
		}
		for len(stack) > 0 {
			d := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			for _, p := range g.revEdges[d] {
				if !v.has(p) && fwd[k].has(p) && g.passes(p, s, pos) {
					v.add(p)
					stack = append(stack, p)
				}
			}
		}
	}
	cur := g.state(g.init, 0)
	if !valid[0].has(cur) {
		return nil
	}
	regs := make([]int, 2*(g.ngroups+1))
	for i := range regs {
		regs[i] = -1
	}
	regs[0], regs[1] = so, eo
	prev := make([]int, len(regs))
	copy(prev, regs)
	via := newBitset(ns)
	pos := so
	for steps := 0; ; steps++ {
		if steps > 4*ns*span+16 {
			return nil
		}
		x := cur % n
		switch g.kind[x] {
		case gOpen:
			r := g.idx[x]
			regs[2*r], regs[2*r+1] = pos, -1
		case gClose:
			r := g.idx[x]
			switch {
			case regs[2*r] < pos:
				regs[2*r+1] = pos
				copy(prev, regs)
			case g.opt[x] && prev[2*r] != -1:
				copy(regs, prev)
			default:
				regs[2*r+1] = pos
			}
		}
		if cur == halt && pos == eo {
			break
		}
		k := pos - so
		if isEpsilon(g.kind[x]) {
			via.add(cur)
			dest := -1
			for _, c := range g.fwdEdges[cur] {
				if !valid[k].has(c) {
					continue
				}
				if dest == -1 {
					dest = c
					continue
				}
				if via.has(dest) {
					dest = c
				}
				break
			}
			if dest < 0 {
				return nil
			}
			cur = dest
			continue
		}
		if g.kind[x] != gChar || pos >= eo || !g.set[x].has(s[pos]) {
			return nil
		}
		pos++
		cur = g.state(g.next[x], 0)
		via.clear()
	}
	for i := 1; i <= g.ngroups; i++ {
		if t := g.groupMap[i]; t != i {
			regs[2*i], regs[2*i+1] = regs[2*t], regs[2*t+1]
		}
	}
	return regs
}
