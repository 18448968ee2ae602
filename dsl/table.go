package dsl

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/neosocksd-go/neosocksd/core/addr"
	"github.com/neosocksd-go/neosocksd/core/route"
	"github.com/neosocksd-go/neosocksd/dsl/lists"
)

// maxHops bounds the re-entries through default, resolve and loopback of
// one request (patch P4).
const maxHops = 16

// Table is a compiled route table: immutable except for the state of its
// load balancers, its hit counters and its dynamic sets. It decides with
// no Lua VM.
type Table struct {
	prog    *Program
	tables  [nTable]*chainRT
	deflt   *ruleRT
	hosts   map[string]string
	secrets map[string]secret
	slots   []atomic.Pointer[setVal]
	dyn     map[string]*SetIR
	rules   []*ruleRT
	hits    []atomic.Uint64
	// resolves: a rule's action looks a name up (resolve), which may
	// block on the resolver.
	resolves bool
}

type secret struct {
	pass string
	any  bool
}

type chainRT struct {
	name  string
	rules []*ruleRT
	segs  []*segment // nil, or parallel to rules: a segment starts here
}

type ruleRT struct {
	ir   *RuleIR
	pos  string
	m    matcher
	a    actionRT
	tag  string
	call *chainRT
}

// Event is one tagged decision step: the rule's tag and the address as it
// was before the rule's action ran. Authentication failures are events
// with the tag "auth-fail" and the user name as Addr.
type Event struct {
	Tag  string `json:"tag"`
	Addr string `json:"addr"`
	Rule string `json:"rule,omitempty"` // file:line:col of the rule, "" for auth failures
}

// Env is the world a decision runs in.
type Env struct {
	AuthRequired bool
	// Resolve answers the `resolve` action; nil: every name fails.
	Resolve func(ctx context.Context, host string) (netip.Addr, error)
	// Trace, when set, receives every step (trace mode).
	Trace *Trace
}

type builder struct {
	t       *Table
	sets    map[setKey]matcher
	actions map[*ActIR]actionRT
	chains  map[*ChainIR]*chainRT
}

// Compile builds the Go engine's form of a checked program.
func Compile(p *Program) (*Table, error) { return CompileWith(p, CompileOptions{}) }

// CompileWith is Compile with options.
func CompileWith(p *Program, o CompileOptions) (*Table, error) {
	t := &Table{prog: p, hosts: map[string]string{}, secrets: map[string]secret{}, dyn: map[string]*SetIR{}}
	b := &builder{t: t, sets: map[setKey]matcher{}, actions: map[*ActIR]actionRT{}, chains: map[*ChainIR]*chainRT{}}
	n := 0
	for _, s := range p.Sets {
		if s.Dynamic() {
			s.Slot = n
			n++
			t.dyn[s.Name] = s
		}
	}
	t.slots = make([]atomic.Pointer[setVal], n)
	t.rules = make([]*ruleRT, len(p.Rules))
	t.hits = make([]atomic.Uint64, len(p.Rules))
	for k, c := range p.Tables {
		if c != nil {
			rt, err := b.chain(c)
			if err != nil {
				return nil, err
			}
			t.tables[k] = rt
		}
	}
	if p.Default != nil {
		r, err := b.rule(p.Default)
		if err != nil {
			return nil, err
		}
		t.deflt = r
	}
	for _, h := range p.Hosts {
		t.hosts[h.Key] = h.Val
	}
	for _, u := range p.Users {
		t.secrets[u.Name] = secret{pass: u.Pass, any: u.Any}
	}
	if !o.NoIndex {
		for _, c := range b.chains {
			buildSegments(c)
		}
	}
	return t, nil
}

func (b *builder) chain(c *ChainIR) (*chainRT, error) {
	if rt, ok := b.chains[c]; ok {
		return rt, nil
	}
	rt := &chainRT{name: c.Name}
	b.chains[c] = rt
	for _, r := range c.Rules {
		x, err := b.rule(r)
		if err != nil {
			return nil, err
		}
		rt.rules = append(rt.rules, x)
	}
	return rt, nil
}

func (b *builder) rule(r *RuleIR) (*ruleRT, error) {
	x := &ruleRT{ir: r, pos: posString(r.Pos), tag: r.Tag}
	var err error
	if r.Call != nil {
		x.call, err = b.chain(r.Call)
	} else {
		if r.M != nil {
			if x.m, err = b.matcher(r.M); err != nil {
				return nil, err
			}
		}
		x.a, err = b.action(r.A)
	}
	if err != nil {
		return nil, err
	}
	b.t.rules[r.ID] = x
	return x, nil
}

// Program returns the checked program the table was compiled from.
func (t *Table) Program() *Program { return t.prog }

// ErrNoSet reports SetSet on a name that is not an external or optional set.
var ErrNoSet = errors.New("dsl: no such replaceable set")

// SetSet replaces the contents of an external (or missing optional) set,
// parsing entries as the set's kind; nil entries clear it.
func (t *Table) SetSet(name string, entries []string) error {
	s := t.dyn[name]
	if s == nil {
		return fmt.Errorf("%w %q", ErrNoSet, name)
	}
	if entries == nil {
		t.slots[s.Slot].Store(nil)
		return nil
	}
	c := &checker{d: &Diagnostics{src: map[string][]byte{}}}
	tmp := &SetIR{Name: s.Name, Kind: s.Kind, Slot: -1}
	c.initSet(tmp)
	ls := make([]lists.Line, len(entries))
	for i, e := range entries {
		ls[i] = lists.Line{Value: strings.TrimSpace(e), Line: int32(i + 1), Col: 1}
	}
	c.fillSet(tmp, "set "+name, ls, nil)
	if c.d.HasErrors() {
		c.d.sort()
		var msgs []string
		for _, x := range c.d.Errors().List {
			msgs = append(msgs, fmt.Sprintf("entry %d: %s", x.Pos.Line, x.Msg))
		}
		return fmt.Errorf("set %s: %s", name, strings.Join(msgs, "; "))
	}
	b := &builder{t: t, sets: map[setKey]matcher{}}
	sv := &setVal{}
	var err error
	switch s.Kind {
	case SetCIDR:
		sv.v4, sv.v6 = newCIDR4(tmp.V4), newCIDR6(tmp.V6)
	default:
		sv.str, err = b.setMatcher(tmp, famStr)
	}
	if err != nil {
		return err
	}
	t.slots[s.Slot].Store(sv)
	return nil
}

// Hits returns the hit counter of every rule, in rule order, with its
// position.
func (t *Table) Hits() []RuleHits {
	out := make([]RuleHits, 0, len(t.rules))
	for i, r := range t.rules {
		if r == nil {
			continue
		}
		out = append(out, RuleHits{Rule: r.pos, Hits: t.hits[i].Load()})
	}
	return out
}

// RuleHits is one rule's hit counter.
type RuleHits struct {
	Rule string
	Hits uint64
}

// --- actions ------------------------------------------------------------------

type actionRT interface {
	run(s *state, addr string) route.Decision
}

type directA struct{}
type rejectA struct{}
type defaultA struct{}
type resolveA struct{}

type redirectA struct {
	host, port string
	mode       uint8 // 0 full, 1 keep host (":p"), 2 keep port ("h:")
	dst        string
	chain      route.Chain
}

type proxyA struct{ chain route.Chain }

type rewriteA struct {
	pat, repl string
	chain     route.Chain
}

type loopbackA struct{ pat, repl string }

type rrA struct {
	items []actionRT
	ctr   atomic.Uint64
}

type iwrrA struct {
	w     []float64
	items []actionRT
	step  float64
	mu    sync.Mutex
	i     int
	r     float64
}

func (b *builder) action(a *ActIR) (actionRT, error) {
	if x, ok := b.actions[a]; ok {
		return x, nil
	}
	var x actionRT
	switch a.Kind {
	case ADirect:
		x = directA{}
	case AReject:
		x = rejectA{}
	case ADefault:
		x = defaultA{}
	case AResolve:
		x = resolveA{}
		b.t.resolves = true
	case ARedirect:
		h, p, err := addr.Split(a.Dst)
		if err != nil {
			return nil, err
		}
		r := &redirectA{host: h, port: p, dst: a.Dst, chain: route.MakeChain(a.Chain...)}
		switch {
		case h == "":
			r.mode = 1
		case p == "":
			r.mode = 2
		}
		x = r
	case AProxy:
		x = &proxyA{chain: route.MakeChain(a.Chain...)}
	case ARewrite:
		x = &rewriteA{pat: a.Pat, repl: a.Repl, chain: route.MakeChain(a.Chain...)}
	case ALoopback:
		x = &loopbackA{pat: a.Pat, repl: a.Repl}
	case ARoundRobin:
		r := &rrA{}
		for _, it := range a.Items {
			y, err := b.action(it)
			if err != nil {
				return nil, err
			}
			r.items = append(r.items, y)
		}
		x = r
	case AIWRR:
		r := &iwrrA{step: 0.01}
		if a.Cycle > 0 {
			r.step = 1 / a.Cycle
		}
		maxW := 0.0
		for i, it := range a.Items {
			if a.Weights[i] <= 0 {
				continue
			}
			y, err := b.action(it)
			if err != nil {
				return nil, err
			}
			r.items = append(r.items, y)
			r.w = append(r.w, a.Weights[i])
			maxW = max(maxW, a.Weights[i])
		}
		for i := range r.w {
			r.w[i] /= maxW
		}
		x = r
	default:
		return nil, fmt.Errorf("dsl: unknown action kind %d", a.Kind)
	}
	b.actions[a] = x
	return x, nil
}

func fwd(target string, c route.Chain) route.Decision {
	return route.Decision{Verdict: route.Forward, Target: target, Chain: c}
}

func failed(why string) route.Decision { return route.Decision{Verdict: route.Error, Reason: why} }

var rejected = route.Decision{Verdict: route.Reject}

func (directA) run(_ *state, a string) route.Decision { return fwd(a, route.Chain{}) }
func (rejectA) run(*state, string) route.Decision     { return rejected }

func (defaultA) run(s *state, a string) route.Decision {
	if !s.hop() {
		return failed("routing loop")
	}
	return s.deflt(a)
}

func (resolveA) run(s *state, a string) route.Decision {
	if !s.hop() {
		return failed("routing loop")
	}
	h, p, err := addr.Split(a)
	if err != nil {
		return failed(err.Error())
	}
	if s.env.Resolve == nil {
		return rejected
	}
	ip, err := s.env.Resolve(s.ctx, h)
	if err != nil || !ip.IsValid() {
		return rejected
	}
	ip = ip.Unmap()
	s.trace("resolve", "%s -> %s", h, ip)
	na := addr.Join(ip.String(), p)
	if ip.Is4() {
		return s.ipv4(na)
	}
	return s.ipv6(na)
}

func (r *redirectA) run(_ *state, a string) route.Decision {
	switch r.mode {
	case 1:
		h, _, err := addr.Split(a)
		if err != nil {
			return failed(err.Error())
		}
		return fwd(addr.Join(h, r.port), r.chain)
	case 2:
		_, p, err := addr.Split(a)
		if err != nil {
			return failed(err.Error())
		}
		return fwd(addr.Join(r.host, p), r.chain)
	}
	return fwd(r.dst, r.chain)
}

func (p *proxyA) run(_ *state, a string) route.Decision { return fwd(a, p.chain) }

func (r *rewriteA) run(_ *state, a string) route.Decision {
	na, err := gsub(a, r.pat, r.repl)
	if err != nil {
		return failed(err.Error())
	}
	return fwd(na, r.chain)
}

func (l *loopbackA) run(s *state, a string) route.Decision {
	if !s.hop() {
		return failed("routing loop")
	}
	na, err := gsub(a, l.pat, l.repl)
	if err != nil {
		return failed(err.Error())
	}
	h, _, err := addr.Split(na)
	if err != nil {
		return failed(err.Error())
	}
	s.trace("loopback", "%q -> %q", a, na)
	if _, ok := addr.ParseIPv4(h); ok {
		return s.ipv4(na)
	}
	if _, ok := addr.ParseIPv6(h); ok {
		return s.ipv6(na)
	}
	return s.name(na)
}

func (r *rrA) run(s *state, a string) route.Decision {
	i := (r.ctr.Add(1) - 1) % uint64(len(r.items))
	return r.items[i].run(s, a)
}

func (r *iwrrA) run(s *state, a string) route.Decision {
	n := len(r.items)
	if n == 0 {
		return rejected
	}
	r.mu.Lock()
	for {
		r.i = r.i%n + 1
		if r.r < r.w[r.i-1] {
			break
		}
	}
	r.r += r.step
	if r.r >= 1 {
		r.r--
	}
	it := r.items[r.i-1]
	r.mu.Unlock()
	return it.run(s, a)
}

// --- the flow -----------------------------------------------------------------

type state struct {
	t     *Table
	ctx   context.Context
	env   *Env
	hops  int
	ev    []Event
	evbuf [4]Event
	tr    *Trace
	v     view // reused by each table in turn
}

func (s *state) hop() bool {
	s.hops++
	return s.hops <= maxHops
}

// Decide runs one request through the table: authentication when env says
// so, then the name, IPv4 or IPv6 flow chosen by the callback. It returns
// the decision and the tagged events in order.
func (t *Table) Decide(ctx context.Context, cb route.Callback, a string, cred route.Credentials, env *Env) (route.Decision, []Event) {
	var out []Event
	d := t.decide(ctx, cb, a, cred, env, func(ev []Event) {
		if len(ev) > 0 {
			out = append([]Event(nil), ev...)
		}
	})
	return d, out
}

var statePool = sync.Pool{New: func() any { return new(state) }}

// decide runs the flow on a pooled state; events go to emit (which must
// not keep the slice) before the state is reused.
func (t *Table) decide(ctx context.Context, cb route.Callback, a string, cred route.Credentials, env *Env, emit func([]Event)) route.Decision {
	if env == nil {
		env = &Env{}
	}
	s := statePool.Get().(*state)
	*s = state{t: t, ctx: ctx, env: env, tr: env.Trace}
	s.ev = s.evbuf[:0]
	defer func() {
		s.ctx, s.env, s.tr, s.t = nil, nil, nil, nil
		statePool.Put(s)
	}()
	if env.AuthRequired && !t.auth(cred) {
		s.event(Event{Tag: "auth-fail", Addr: cred.Username})
		s.trace("auth", "user %q rejected", cred.Username)
		emit(s.ev)
		return rejected
	}
	var d route.Decision
	switch cb {
	case route.Route:
		d = s.ipv4(a)
	case route.Route6:
		d = s.ipv6(a)
	default:
		d = s.name(a)
	}
	emit(s.ev)
	return d
}

func (t *Table) auth(c route.Credentials) bool {
	if !c.HasUsername {
		return false
	}
	sec, ok := t.secrets[c.Username]
	if !ok {
		return false
	}
	return sec.any || (c.HasPassword && sec.pass == c.Password)
}

func (s *state) event(e Event) {
	s.ev = append(s.ev, e)
}

// runChain finds the first matching rule of c (descending into calls).
func (s *state) runChain(c *chainRT, v *view, depth int) (*ruleRT, tri) {
	if c.segs != nil && s.tr == nil {
		return s.runIndexed(c, v, depth)
	}
	for _, r := range c.rules {
		if r.call != nil {
			s.traceRule(r, v, noMatch, depth, "call")
			x, t := s.runChain(r.call, v, depth+1)
			if t != noMatch {
				return x, t
			}
			continue
		}
		t := r.m.match(v)
		s.traceRule(r, v, t, depth, "")
		if t != noMatch {
			return r, t
		}
	}
	return nil, noMatch
}

// runIndexed is runChain with the segment index: one lookup per run of
// simple rules (trace mode always evaluates linearly).
func (s *state) runIndexed(c *chainRT, v *view, depth int) (*ruleRT, tri) {
	for i := 0; i < len(c.rules); {
		if sg := c.segs[i]; sg != nil {
			off, t := sg.lookup(v)
			switch t {
			case isMatch:
				return c.rules[i+off], t
			case errMatch:
				return c.rules[i], t
			}
			i = sg.end
			continue
		}
		r := c.rules[i]
		i++
		if r.call != nil {
			x, t := s.runChain(r.call, v, depth+1)
			if t != noMatch {
				return x, t
			}
			continue
		}
		if t := r.m.match(v); t != noMatch {
			return r, t
		}
	}
	return nil, noMatch
}

// fire runs a matched rule's action.
func (s *state) fire(r *ruleRT, a string) route.Decision {
	s.t.hits[r.ir.ID].Add(1)
	if r.tag != "" {
		s.event(Event{Tag: r.tag, Addr: a, Rule: r.pos})
	}
	s.traceAction(r)
	return r.a.run(s, a)
}

// table runs one string table; ok is false when no rule matched.
func (s *state) strTable(k TableKind, a string) (route.Decision, bool) {
	c := s.t.tables[k]
	if c == nil {
		return route.Decision{}, false
	}
	s.tracePhase(k.String(), a)
	s.v = view{addr: a}
	v := &s.v
	r, t := s.runChain(c, v, 1)
	switch t {
	case errMatch:
		return failed(matchErr(v)), true
	case isMatch:
		return s.fire(r, a), true
	}
	return route.Decision{}, false
}

func matchErr(v *view) string {
	if v.err != nil {
		return v.err.Error()
	}
	return "matcher failed"
}

func (s *state) name(a string) route.Decision {
	if d, ok := s.strTable(TRedirectName, a); ok {
		return d
	}
	h, p, err := addr.Split(a)
	if err != nil {
		return failed(err.Error())
	}
	lh := addr.Lower(h)
	if m, ok := s.t.hosts[lh]; ok {
		s.trace("hosts", "%s -> %s", lh, m)
		a = addr.Join(m, p)
		h = m
	}
	if _, ok := addr.ParseIPv4(h); ok {
		return s.ipv4(a)
	}
	if _, ok := addr.ParseIPv6(h); ok {
		return s.ipv6(a)
	}
	return s.deflt(a)
}

func (s *state) ipv4(a string) route.Decision {
	if d, ok := s.strTable(TRedirect, a); ok {
		return d
	}
	if c := s.t.tables[TRoute]; c != nil {
		h, _, err := addr.Split(a)
		if err != nil {
			return failed(err.Error())
		}
		s.v = view{addr: a, fam: fam4}
		v := &s.v
		v.ip4, v.ipOK = addr.ParseIPv4(h)
		s.tracePhase("route", a)
		r, t := s.runChain(c, v, 1)
		switch t {
		case errMatch:
			return failed("route: not an IPv4 address: " + h)
		case isMatch:
			return s.fire(r, a)
		}
	}
	return s.deflt(a)
}

func (s *state) ipv6(a string) route.Decision {
	if d, ok := s.strTable(TRedirect6, a); ok {
		return d
	}
	if c := s.t.tables[TRoute6]; c != nil {
		h, _, err := addr.Split(a)
		if err != nil {
			return failed(err.Error())
		}
		s.v = view{addr: a, fam: fam6}
		v := &s.v
		if ip, ok := addr.ParseIPv6(h); ok {
			v.ip6, v.ipOK = ip6Words(ip), true
		}
		s.tracePhase("route6", a)
		r, t := s.runChain(c, v, 1)
		switch t {
		case errMatch:
			return failed("route6: not an IPv6 address: " + h)
		case isMatch:
			return s.fire(r, a)
		}
	}
	return s.deflt(a)
}

func (s *state) deflt(a string) route.Decision {
	if s.t.deflt == nil {
		s.tracePhase("default", a)
		s.trace("", "-> direct (no default)")
		return fwd(a, route.Chain{})
	}
	s.tracePhase("default", a)
	return s.fire(s.t.deflt, a)
}

func splitLower(a string) (string, string, error) {
	h, p, err := addr.Split(a)
	return addr.Lower(h), p, err
}
