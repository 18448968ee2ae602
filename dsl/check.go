package dsl

import (
	"errors"
	"fmt"
	"io/fs"
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"

	"github.com/alecthomas/participle/v2/lexer"

	"github.com/neosocksd-go/neosocksd/core/addr"
	"github.com/neosocksd-go/neosocksd/core/route"
	"github.com/neosocksd-go/neosocksd/dsl/lists"
)

// CheckOptions tells the checker how to reach the outside world. The zero
// value reads files from disk and the process environment.
type CheckOptions struct {
	ReadFile func(name string) ([]byte, error) // default os.ReadFile
	Getenv   func(name string) (string, bool)  // default os.LookupEnv
}

// Check parses filename (whose contents are src) with its includes and
// list files, checks everything and returns the L-IR. The program is nil
// when any error was found; warnings come with a valid program.
func Check(filename string, src []byte, o CheckOptions) (*Program, *Diagnostics) {
	if o.ReadFile == nil {
		o.ReadFile = os.ReadFile
	}
	if o.Getenv == nil {
		o.Getenv = os.LookupEnv
	}
	c := &checker{
		o:        o,
		d:        &Diagnostics{src: map[string][]byte{}},
		p:        &Program{Main: filename, Upstreams: map[string]string{}},
		files:    map[string]bool{},
		names:    map[string]lexer.Position{},
		ups:      map[string]string{},
		upUsed:   map[string]bool{},
		sets:     map[string]*SetIR{},
		actions:  map[string]*actState{},
		chains:   map[string]*chainState{},
		once:     map[string]lexer.Position{},
		fileOfAt: map[*Decl]string{},
	}
	c.p.Src = c.d.src
	c.load(filename, src, lexer.Position{})
	if !c.d.HasErrors() {
		c.run()
	}
	c.d.sort()
	if c.d.HasErrors() {
		return nil, c.d
	}
	return c.p, c.d
}

type actState struct {
	decl  *ActionDecl
	ir    *ActIR
	state uint8 // 0 new, 1 building, 2 done
}

type chainState struct {
	decl  *ChainDecl
	ir    *ChainIR
	state uint8
	fam   family
	ctx   string // the table it was first called from
}

type checker struct {
	o        CheckOptions
	d        *Diagnostics
	p        *Program
	files    map[string]bool
	decls    []*Decl
	fileOfAt map[*Decl]string
	names    map[string]lexer.Position
	ups      map[string]string
	upUsed   map[string]bool // upstreams a rule or action names
	sets     map[string]*SetIR
	actions  map[string]*actState
	chains   map[string]*chainState
	once     map[string]lexer.Position
	stack    []string // chains being built, for cycle messages
}

// load parses one file and, recursively, its includes, collecting the
// declarations in order.
func (c *checker) load(name string, src []byte, from lexer.Position) {
	key := filepath.Clean(name)
	if c.files[key] {
		c.d.errorf(from, "%q is included twice (or includes itself)", name)
		return
	}
	c.files[key] = true
	c.d.src[name] = src
	f, err := parser.ParseBytes(name, src)
	if err != nil {
		x := parseDiag(err, src)
		if x.Pos.Filename == "" {
			x.Pos.Filename = name
		}
		c.d.List = append(c.d.List, x)
		return
	}
	for _, d := range f.Decls {
		if d.Include != nil {
			inc, ok := c.str(d.Include)
			if !ok {
				continue
			}
			path := c.rel(name, inc)
			b, err := c.o.ReadFile(path)
			if err != nil {
				c.d.errorf(d.Include.Pos, "include %q: %s", inc, ioReason(err))
				continue
			}
			c.load(path, b, d.Include.Pos)
			continue
		}
		c.fileOfAt[d] = name
		c.decls = append(c.decls, d)
	}
}

func ioReason(err error) string {
	if errors.Is(err, fs.ErrNotExist) {
		return "no such file"
	}
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err.Error()
	}
	return err.Error()
}

// rel resolves path relative to the directory of the file that names it.
func (c *checker) rel(from, path string) string {
	if filepath.IsAbs(path) {
		return path
	}
	return filepath.Join(filepath.Dir(from), path)
}

var keywords = map[string]bool{}

func init() {
	for _, k := range strings.Fields(`include upstream set action chain redirect_name redirect redirect6 route route6
		hosts users default test exact host port domain pattern regex cidr list from optional external call
		any in not and or direct reject resolve proxy rewrite loopback roundrobin weighted cycle via to user
		password tag tags env dns fail auth error`) {
		keywords[k] = true
	}
}

var nameRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_-]*$`)

// luaGlobals are names a dynamic set may not take: the Lua back end reads
// such sets from _G, where libruleset keeps its own state.
var luaGlobals = map[string]bool{}

func init() {
	for _, k := range strings.Fields(`_G _VERSION match rule lb composite inet inet6 hosts secrets route route6
		redirect redirect6 redirect_name route_default config ruleset libruleset string table math os io
		coroutine debug package require print neosocksd await regex time zlib marshal unmarshal list rlist
		printf log logf evlog evlogf async rpc msgh agent parse_cidr parse_cidr6 format_timestamp
		recent_events num_requests num_authorized stat_requests RECENT_EVENTS_STATS pairs ipairs next
		type tostring tonumber error assert pcall xpcall select setmetatable getmetatable rawget rawset
		rawequal load loadstring dofile loadfile unpack collectgarbage`) {
		luaGlobals[k] = true
	}
}

// declare registers a name in the single namespace of upstreams, sets,
// actions and chains.
func (c *checker) declare(id *Ident, what string) bool {
	if keywords[id.Name] {
		c.d.errorf(id.Pos, "%s name %q is a keyword", what, id.Name)
		return false
	}
	if !nameRE.MatchString(id.Name) {
		c.d.errorf(id.Pos, "invalid %s name %q: names are letters, digits, '_' and '-', not starting with a digit", what, id.Name)
		return false
	}
	if prev, ok := c.names[id.Name]; ok {
		x := c.d.errorf(id.Pos, "%q is already declared", id.Name)
		x.Notes = append(x.Notes, fmt.Sprintf("%s: first declared here", posString(prev)))
		return false
	}
	c.names[id.Name] = id.Pos
	return true
}

func (c *checker) onlyOnce(what string, pos lexer.Position) bool {
	if prev, ok := c.once[what]; ok {
		x := c.d.errorf(pos, "duplicate %s", what)
		x.Notes = append(x.Notes, fmt.Sprintf("%s: first %s here", posString(prev), what))
		return false
	}
	c.once[what] = pos
	return true
}

func (c *checker) run() {
	// Declarations first, so that uses may precede them.
	for _, d := range c.decls {
		switch {
		case d.Upstream != nil:
			c.upstream(d.Upstream)
		case d.Action != nil:
			if c.declare(d.Action.Name, "action") {
				c.actions[d.Action.Name.Name] = &actState{decl: d.Action}
			}
		case d.Chain != nil:
			if c.declare(d.Chain.Name, "chain") {
				c.chains[d.Chain.Name.Name] = &chainState{decl: d.Chain}
			}
		}
	}
	for _, d := range c.decls {
		if d.Set != nil {
			c.set(d, d.Set)
		}
	}
	for _, d := range c.decls {
		if d.Action != nil {
			if st := c.actions[d.Action.Name.Name]; st != nil && st.decl == d.Action {
				c.namedAction(st)
			}
		}
	}
	for _, d := range c.decls {
		switch {
		case d.Table != nil:
			c.table(d)
		case d.Hosts != nil:
			c.hosts(d)
		case d.Users != nil:
			c.users(d)
		case d.Default != nil:
			c.deflt(d)
		}
	}
	// Chains nobody calls are still checked, as string chains.
	for _, d := range c.decls {
		if d.Chain != nil {
			if st := c.chains[d.Chain.Name.Name]; st != nil && st.decl == d.Chain && st.state == 0 {
				c.d.warnf(d.Chain.Name.Pos, "chain %s is never called", d.Chain.Name.Name)
				c.chain(st, famStr, "chain "+d.Chain.Name.Name)
			}
		}
	}
	for _, d := range c.decls {
		if d.Test != nil {
			c.test(d.Test, d.Pos)
		}
	}
	if c.d.HasErrors() {
		return
	}
	c.lint()
	c.lintUnusedUpstreams()
	c.lintUnusedSets()
}

// str unquotes a string node.
func (c *checker) str(s *Str) (string, bool) {
	switch {
	case s.String != nil:
		v, err := strconv.Unquote(*s.String)
		if err != nil {
			c.d.errorf(s.Pos, "invalid string %s: %v", *s.String, err)
			return "", false
		}
		return v, true
	case s.Raw != nil:
		return strings.TrimSuffix(strings.TrimPrefix(*s.Raw, "`"), "`"), true
	case s.Env != nil:
		name, err := strconv.Unquote(*s.Env)
		if err != nil {
			c.d.errorf(s.Pos, "invalid string %s: %v", *s.Env, err)
			return "", false
		}
		v, ok := c.o.Getenv(name)
		if !ok {
			c.d.errorf(s.Pos, "environment variable %s is not set", name)
			return "", false
		}
		return v, true
	}
	return "", false
}

func (c *checker) value(v *Value) (string, bool) {
	if v.Word != nil {
		return *v.Word, true
	}
	return c.str(v.Str)
}

func (c *checker) upstream(u *Upstream) {
	if !c.declare(u.Name, "upstream") {
		return
	}
	uri, ok := c.str(u.URI)
	if !ok {
		return
	}
	if u.User != nil {
		user, ok1 := c.str(u.User)
		pass, ok2 := c.str(u.Password)
		if !ok1 || !ok2 {
			return
		}
		i := strings.Index(uri, "://")
		if i < 0 {
			c.d.errorf(u.URI.Pos, "proxy URI %q: missing scheme", uri)
			return
		}
		if strings.Contains(strings.SplitN(uri[i+3:], "/", 2)[0], "@") {
			c.d.errorf(u.User.Pos, "proxy URI %q already has credentials", uri)
			return
		}
		uri = uri[:i+3] + escapeUserinfo(user) + ":" + escapeUserinfo(pass) + "@" + uri[i+3:]
	}
	if !c.checkURI(uri, u.URI.Pos) {
		return
	}
	c.ups[u.Name.Name] = uri
	c.p.Upstreams[u.Name.Name] = uri
}

func escapeUserinfo(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		ch := s[i]
		if ch >= 'a' && ch <= 'z' || ch >= 'A' && ch <= 'Z' || ch >= '0' && ch <= '9' || strings.IndexByte("-._~", ch) >= 0 {
			b.WriteByte(ch)
		} else {
			fmt.Fprintf(&b, "%%%02X", ch)
		}
	}
	return b.String()
}

func (c *checker) checkURI(uri string, pos lexer.Position) bool {
	if _, err := addr.ParseProxy(uri); err != nil {
		msg := err.Error()
		msg = strings.TrimPrefix(msg, "invalid ")
		c.d.errorf(pos, "%s", msg)
		return false
	}
	return true
}

// --- values -------------------------------------------------------------

// nonASCII reports an IDN and suggests its A-label.
func (c *checker) nonASCII(what, s string, pos lexer.Position) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			host := s
			if h, _, err := addr.Split(s); err == nil {
				host = h
			}
			if a, ok := toALabel(host); ok {
				c.d.errorf(pos, "non-ASCII %s %q: write the A-label %q", what, s, a)
			} else {
				c.d.errorf(pos, "non-ASCII %s %q: names are matched byte by byte; write the A-label", what, s)
			}
			return true
		}
	}
	return false
}

func validLabelByte(ch byte) bool {
	return ch >= 'a' && ch <= 'z' || ch >= '0' && ch <= '9' || ch == '-' || ch == '_' || ch == '*'
}

// canonDomain lower-cases d and drops empty labels (a leading dot only
// says "and subdomains", which every domain entry means).
func canonDomain(d string) (string, bool) {
	d = addr.Lower(d)
	var b strings.Builder
	n := 0
	for _, l := range strings.Split(d, ".") {
		if l == "" {
			continue
		}
		for i := 0; i < len(l); i++ {
			if !validLabelByte(l[i]) {
				return "", false
			}
		}
		if n > 0 {
			b.WriteByte('.')
		}
		b.WriteString(l)
		n++
	}
	return b.String(), n > 0
}

// strValue validates one value of a string matcher and returns its
// canonical form.
func (c *checker) strValue(k StrKind, v string, pos lexer.Position) (string, bool) {
	switch k {
	case KExact:
		if c.nonASCII("address", v, pos) {
			return "", false
		}
		_, port, err := addr.Split(v)
		if err != nil || port == "" {
			if err == nil || !strings.Contains(v, ":") {
				c.d.errorf(pos, "exact %q: missing \":port\" (exact compares the whole host:port; use `host %s`)", v, v)
			} else {
				c.d.errorf(pos, "exact %q: invalid address (write host:port, IPv6 as [addr]:port)", v)
			}
			return "", false
		}
		return addr.Lower(v), true
	case KHost:
		if c.nonASCII("host", v, pos) {
			return "", false
		}
		if strings.Contains(v, ":") {
			if _, ok := addr.ParseIPv6(v); !ok {
				c.d.errorf(pos, "host %q contains ':'; a host has no port (use `exact %s`)", v, v)
				return "", false
			}
		}
		if v == "" {
			c.d.errorf(pos, "empty host")
			return "", false
		}
		return addr.Lower(v), true
	case KDomain:
		if c.nonASCII("domain", v, pos) {
			return "", false
		}
		d, ok := canonDomain(v)
		if !ok {
			c.d.errorf(pos, "invalid domain %q", v)
			return "", false
		}
		return d, true
	case KPattern:
		if err := checkPattern(v); err != nil {
			c.d.errorf(pos, "invalid Lua pattern %q: %s", v, patternReason(v, err))
			return "", false
		}
		return v, true
	case KRegex:
		if _, err := compileRegex(v); err != nil {
			c.d.errorf(pos, "invalid regex %q: %v", v, err)
			return "", false
		}
		if strings.HasSuffix(v, "$") && !strings.Contains(v, ":") {
			c.d.warnf(pos, "regex ends in `$` but sees \"host:port\"; add `(:[0-9]+)?` or match the port")
		}
		return v, true
	}
	return v, true
}

func patternReason(p string, err error) string {
	msg := err.Error()
	if strings.Contains(msg, "unexpected EOS") || strings.Contains(msg, "malformed") {
		if strings.HasSuffix(p, "%") && !strings.HasSuffix(p, "%%") {
			return "ends with '%'"
		}
		if strings.Count(p, "[") > strings.Count(p, "]") {
			return "missing ']'"
		}
		if strings.Count(p, "(") > strings.Count(p, ")") {
			return "unfinished capture"
		}
	}
	return msg
}

// prefix parses a CIDR value or a bare address.
func (c *checker) prefix(v string, pos lexer.Position) (netip.Prefix, bool) {
	ip, bits, hasBits := strings.Cut(v, "/")
	var a netip.Addr
	if w, ok := addr.ParseIPv4(ip); ok {
		a = netip.AddrFrom4([4]byte{byte(w >> 24), byte(w >> 16), byte(w >> 8), byte(w)})
	} else if a6, ok := addr.ParseIPv6(ip); ok {
		a = a6
	} else {
		c.d.errorf(pos, "invalid CIDR %q: %q is not an IP address", v, ip)
		return netip.Prefix{}, false
	}
	n := a.BitLen()
	if hasBits {
		x, err := strconv.Atoi(bits)
		if err != nil || x < 0 || x > a.BitLen() || (len(bits) > 1 && bits[0] == '0') {
			c.d.errorf(pos, "invalid CIDR %q: prefix length must be 0..%d", v, a.BitLen())
			return netip.Prefix{}, false
		}
		n = x
	}
	p := netip.PrefixFrom(a, n)
	if m := p.Masked(); m != p {
		c.d.errorf(pos, "invalid CIDR %q: host bits set; did you mean %s?", v, m)
		return netip.Prefix{}, false
	}
	return p, true
}

func (c *checker) port(v string, pos lexer.Position) (PortRange, bool) {
	lo, hi, isRange := strings.Cut(v, "-")
	if !isRange {
		hi = lo
	}
	a, ok1 := addr.ParsePort(lo)
	b, ok2 := addr.ParsePort(hi)
	if !ok1 || !ok2 || lo == "" || hi == "" || a > b {
		c.d.errorf(pos, "invalid port %q: write a port 0..65535 or a range lo-hi", v)
		return PortRange{}, false
	}
	return PortRange{int(a), int(b)}, true
}

// --- sets -----------------------------------------------------------------

func (c *checker) set(d *Decl, s *SetDecl) {
	if !c.declare(s.Name, "set") {
		return
	}
	kind, _ := setKindOf(s.Kind) // the grammar admits only set kind names
	set := &SetIR{Name: s.Name.Name, Kind: kind, Pos: s.Name.Pos, External: s.External, Slot: -1}
	c.sets[set.Name] = set
	c.p.Sets = append(c.p.Sets, set)
	if set.Dynamic() && luaGlobals[set.Name] {
		c.d.errorf(s.Name.Pos, "external set %q would replace the Lua global of that name; rename it", set.Name)
	}
	c.initSet(set)
	switch {
	case s.External:
	case s.From != nil:
		name, ok := c.str(s.From)
		if !ok {
			return
		}
		path := c.rel(c.fileOfAt[d], name)
		b, err := c.o.ReadFile(path)
		if err != nil {
			if s.Optional && errors.Is(err, fs.ErrNotExist) {
				c.d.warnf(s.From.Pos, "list file %q not found: set %s matches nothing until it is provided", path, set.Name)
				set.Missing = true
				if luaGlobals[set.Name] {
					c.d.errorf(s.Name.Pos, "optional set %q would replace the Lua global of that name; rename it", set.Name)
				}
				return
			}
			c.d.errorf(s.From.Pos, "list file %q: %s", path, ioReason(err))
			return
		}
		c.d.src[path] = b
		c.fillSet(set, path, lists.Lines(string(b)), nil)
	default:
		ls := make([]lists.Line, 0, len(s.Values))
		var poss []lexer.Position
		for _, v := range s.Values {
			str, ok := c.value(v)
			if !ok {
				continue
			}
			ls = append(ls, lists.Line{Value: str, Line: int32(v.Pos.Line), Col: int32(v.Pos.Column)})
			poss = append(poss, v.Pos)
		}
		c.fillSet(set, c.fileOfAt[d], ls, poss)
	}
}

func (c *checker) initSet(set *SetIR) {
	switch set.Kind {
	case SetCIDR:
		set.V4 = &MCIDR{Org: &Origin{}}
		set.V6 = &MCIDR{V6: true, Org: &Origin{}}
	case SetList:
		for i, k := range [4]StrKind{KDomain, KHost, KRegex, KPattern} {
			set.List[i] = &MStr{Kind: k, Org: &Origin{}}
		}
	default:
		k, _ := set.Kind.strKind()
		set.Str = &MStr{Kind: k, Org: &Origin{}}
	}
}

// fillSet validates and adds the lines of a set. poss carries full
// positions for inline values (nil for files).
func (c *checker) fillSet(set *SetIR, file string, ls []lists.Line, poss []lexer.Position) {
	pos := func(i int, l lists.Line) lexer.Position {
		if poss != nil {
			return poss[i]
		}
		return lexer.Position{Filename: file, Line: int(l.Line), Column: int(l.Col)}
	}
	setOrg := func(o *Origin) {
		o.File = file
	}
	switch set.Kind {
	case SetCIDR:
		setOrg(set.V4.Org)
		setOrg(set.V6.Org)
		for i, l := range ls {
			p, ok := c.prefix(l.Value, pos(i, l))
			if !ok {
				continue
			}
			m := set.V4
			if p.Addr().Is6() {
				m = set.V6
			}
			m.Prefixes = append(m.Prefixes, p)
			m.Org.Line = append(m.Org.Line, l.Line)
			m.Org.Col = append(m.Org.Col, l.Col)
		}
	case SetList:
		for _, m := range set.List {
			setOrg(m.Org)
		}
		for i, l := range ls {
			k, v := lists.Classify(l.Value)
			p := pos(i, l)
			p.Column += len(l.Value) - len(v)
			var m *MStr
			switch k {
			case lists.Domain:
				m = set.List[0]
			case lists.Full:
				m = set.List[1]
			case lists.Regexp:
				m = set.List[2]
			case lists.Keyword:
				m = set.List[3]
				v = lists.EscapePattern(v)
			}
			if cv, ok := c.strValue(m.Kind, v, p); ok {
				m.Vals = append(m.Vals, cv)
				m.Org.Line = append(m.Org.Line, int32(p.Line))
				m.Org.Col = append(m.Org.Col, int32(p.Column))
			}
		}
	default:
		m := set.Str
		setOrg(m.Org)
		m.Vals = make([]string, 0, len(ls))
		m.Org.Line = make([]int32, 0, len(ls))
		if poss != nil {
			m.Org.Col = make([]int32, 0, len(ls))
		} else {
			m.Org.Col = nil
		}
		for i, l := range ls {
			p := pos(i, l)
			if cv, ok := c.strValue(m.Kind, l.Value, p); ok {
				m.Vals = append(m.Vals, cv)
				m.Org.Line = append(m.Org.Line, l.Line)
				if poss != nil {
					m.Org.Col = append(m.Org.Col, l.Col)
				}
			}
		}
	}
}

// --- actions --------------------------------------------------------------

func (c *checker) namedAction(st *actState) *ActIR {
	switch st.state {
	case 1:
		c.d.errorf(st.decl.Name.Pos, "action %s refers to itself", st.decl.Name.Name)
		return nil
	case 2:
		return st.ir
	}
	st.state = 1
	a := c.action(st.decl.Action)
	st.state = 2
	if a == nil {
		return nil
	}
	if a.Name != "" {
		// `action b = a`: the same instance under another name.
		st.ir = a
		return a
	}
	a.Name = st.decl.Name.Name
	st.ir = a
	c.p.Actions = append(c.p.Actions, a)
	return a
}

// hops resolves the hops of a proxy chain; route marks the upstreams named
// as used (a test case's expected chain does not).
func (c *checker) hops(hs []*Hop, route bool) ([]string, bool) {
	out := make([]string, 0, len(hs))
	ok := true
	for _, h := range hs {
		if h.Name != nil {
			uri, found := c.ups[*h.Name]
			if !found {
				if _, declared := c.names[*h.Name]; declared {
					c.d.errorf(h.Pos, "%q is not an upstream", *h.Name)
				} else {
					msg := fmt.Sprintf("unknown upstream %q", *h.Name)
					if s := suggest(*h.Name, keysOf(c.ups)); s != "" {
						msg += fmt.Sprintf("; did you mean %q?", s)
					}
					c.d.errorf(h.Pos, "%s", msg)
				}
				ok = false
				continue
			}
			if route {
				c.upUsed[*h.Name] = true
			}
			out = append(out, uri)
			continue
		}
		uri, good := c.str(h.Str)
		if !good || !c.checkURI(uri, h.Str.Pos) {
			ok = false
			continue
		}
		out = append(out, uri)
	}
	return out, ok
}

func (c *checker) action(a *Action) *ActIR {
	ir := &ActIR{Pos: a.Pos}
	switch {
	case a.Simple != "":
		ir.Kind = map[string]ActKind{"direct": ADirect, "reject": AReject, "default": ADefault, "resolve": AResolve}[a.Simple]
	case a.Redirect != nil:
		r := a.Redirect
		ir.Kind = ARedirect
		switch {
		case r.Host != nil:
			h, ok := c.value(r.Host)
			if !ok {
				return nil
			}
			if h == "" || strings.ContainsAny(h, "[]") || (strings.Contains(h, ":") && !isIPv6(h)) {
				c.d.errorf(r.Host.Pos, "redirect host %q: write a name or an address without port or brackets", h)
				return nil
			}
			ir.Dst = addr.Join(h, "")
		case r.Port != nil:
			p, ok := c.value(r.Port)
			if !ok {
				return nil
			}
			if _, good := addr.ParsePort(p); !good || p == "" {
				c.d.errorf(r.Port.Pos, "redirect port %q: write a port 0..65535", p)
				return nil
			}
			ir.Dst = ":" + p
		default:
			d, ok := c.value(r.Dst)
			if !ok {
				return nil
			}
			if c.nonASCII("address", d, r.Dst.Pos) {
				return nil
			}
			if _, _, err := addr.Split(d); err != nil {
				c.d.errorf(r.Dst.Pos, "redirect %q: missing \":port\" (write host:port, `redirect host H` or `redirect port P`)", d)
				return nil
			}
			ir.Dst = d
		}
		var ok bool
		if ir.Chain, ok = c.hops(r.Via, true); !ok {
			return nil
		}
	case a.Proxy != nil:
		ir.Kind = AProxy
		var ok bool
		if ir.Chain, ok = c.hops(a.Proxy, true); !ok {
			return nil
		}
	case a.Rewrite != nil:
		ir.Kind = ARewrite
		if !c.patRepl(ir, a.Rewrite.Pattern, a.Rewrite.Repl) {
			return nil
		}
		var ok bool
		if ir.Chain, ok = c.hops(a.Rewrite.Via, true); !ok {
			return nil
		}
	case a.Loopback != nil:
		ir.Kind = ALoopback
		if !c.patRepl(ir, a.Loopback.Pattern, a.Loopback.Repl) {
			return nil
		}
	case a.RoundRobin != nil:
		ir.Kind = ARoundRobin
		for _, x := range a.RoundRobin {
			it := c.action(x)
			if it == nil {
				return nil
			}
			ir.Items = append(ir.Items, it)
		}
	case a.Weighted != nil:
		ir.Kind = AIWRR
		w := a.Weighted
		if w.Cycle != nil {
			s, ok := c.value(w.Cycle)
			if !ok {
				return nil
			}
			n, err := strconv.ParseFloat(s, 64)
			// A cycle below 1 makes a step above 1: upstream's IWRR then
			// never finds a weight above its position and loops forever.
			if err != nil || !(n >= 1) || n > 1e9 {
				c.d.errorf(w.Cycle.Pos, "cycle %q: must be a number >= 1", s)
				return nil
			}
			ir.Cycle = n
		}
		pos := 0
		for _, it := range w.Items {
			s, ok := c.value(it.Weight)
			if !ok {
				return nil
			}
			n, err := strconv.ParseFloat(s, 64)
			if err != nil || n != n || n > 1e15 || n < -1e15 {
				c.d.errorf(it.Weight.Pos, "weight %q: must be a number", s)
				return nil
			}
			if n > 0 {
				pos++
			}
			x := c.action(it.Action)
			if x == nil {
				return nil
			}
			ir.Weights = append(ir.Weights, n)
			ir.Items = append(ir.Items, x)
		}
		if pos == 0 {
			c.d.warnf(w.Pos, "all weights are 0: this action rejects every request")
		}
	case a.Name != nil:
		st := c.actions[a.Name.Name]
		if st == nil {
			if _, ok := c.ups[a.Name.Name]; ok {
				c.d.errorf(a.Name.Pos, "%q is an upstream, not an action; write `proxy %s`", a.Name.Name, a.Name.Name)
				return nil
			}
			msg := fmt.Sprintf("unknown action %q", a.Name.Name)
			if s := suggest(a.Name.Name, append(keysOf(c.actions), "direct", "reject", "default", "resolve")); s != "" {
				msg += fmt.Sprintf("; did you mean %q?", s)
			}
			c.d.errorf(a.Name.Pos, "%s", msg)
			return nil
		}
		return c.namedAction(st)
	}
	return ir
}

func isIPv6(s string) bool { _, ok := addr.ParseIPv6(s); return ok }

func (c *checker) patRepl(ir *ActIR, p, r *Str) bool {
	pat, ok1 := c.str(p)
	repl, ok2 := c.str(r)
	if !ok1 || !ok2 {
		return false
	}
	if err := checkPattern(pat); err != nil {
		c.d.errorf(p.Pos, "invalid Lua pattern %q: %s", pat, patternReason(pat, err))
		return false
	}
	ir.Pat, ir.Repl = pat, repl
	return true
}

// --- tables and chains ------------------------------------------------------

func (c *checker) table(d *Decl) {
	t := d.Table
	var kind TableKind
	for i, n := range tableNames {
		if n == t.Name {
			kind = TableKind(i)
		}
	}
	if !c.onlyOnce(t.Name, d.Pos) {
		return
	}
	ch := &ChainIR{Name: t.Name, Pos: d.Pos, Fam: kind.family()}
	ch.Rules = c.rules(t.Rules, ch.Fam, t.Name)
	c.p.Tables[kind] = ch
}

func (c *checker) chain(st *chainState, fam family, ctx string) *ChainIR {
	switch st.state {
	case 1:
		c.d.errorf(st.decl.Name.Pos, "call cycle: %s -> %s", strings.Join(c.stack, " -> "), st.decl.Name.Name)
		return nil
	case 2:
		if st.fam != fam {
			c.d.errorf(st.decl.Name.Pos, "chain %s is called from %s and from %s, whose rules see different inputs", st.decl.Name.Name, st.ctx, ctx)
			return nil
		}
		return st.ir
	}
	st.state, st.fam, st.ctx = 1, fam, ctx
	c.stack = append(c.stack, st.decl.Name.Name)
	ir := &ChainIR{Name: st.decl.Name.Name, Pos: st.decl.Name.Pos, Fam: fam}
	st.ir = ir
	ir.Rules = c.rules(st.decl.Rules, fam, "chain "+st.decl.Name.Name+" (used in "+ctx+")")
	c.stack = c.stack[:len(c.stack)-1]
	st.state = 2
	c.p.Chains = append(c.p.Chains, ir)
	return ir
}

func (c *checker) rules(rs []*Rule, fam family, ctx string) []*RuleIR {
	var out []*RuleIR
	for _, r := range rs {
		if r.Call != nil {
			st := c.chains[r.Call.Name]
			if st == nil {
				msg := fmt.Sprintf("unknown chain %q", r.Call.Name)
				if s := suggest(r.Call.Name, keysOf(c.chains)); s != "" {
					msg += fmt.Sprintf("; did you mean %q?", s)
				}
				c.d.errorf(r.Call.Pos, "%s", msg)
				continue
			}
			if len(c.stack) == 0 {
				c.stack = append(c.stack, strings.Fields(ctx)[0])
				ch := c.chain(st, fam, ctx)
				c.stack = c.stack[:0]
				if ch != nil {
					out = append(out, c.newRule(&RuleIR{Pos: r.Pos, Text: "call " + r.Call.Name, Call: ch}))
				}
				continue
			}
			if ch := c.chain(st, fam, ctx); ch != nil {
				out = append(out, c.newRule(&RuleIR{Pos: r.Pos, Text: "call " + r.Call.Name, Call: ch}))
			}
			continue
		}
		m := c.expr(r.Expr, fam, ctx)
		a := c.action(r.Action)
		tag, ok := c.tag(r.Tag)
		if m == nil || a == nil || !ok {
			continue
		}
		out = append(out, c.newRule(&RuleIR{Pos: r.Pos, Text: c.text(r.Expr.Pos, r.Expr.EndPos), M: m, A: a, Tag: tag}))
	}
	return out
}

func (c *checker) newRule(r *RuleIR) *RuleIR {
	r.ID = len(c.p.Rules)
	c.p.Rules = append(c.p.Rules, r)
	return r
}

func (c *checker) tag(v *Value) (string, bool) {
	if v == nil {
		return "", true
	}
	s, ok := c.value(v)
	if ok && s == "" {
		c.d.errorf(v.Pos, "empty tag")
		return "", false
	}
	return s, ok
}

// text returns the source between two positions with runs of blanks
// folded, for traces.
func (c *checker) text(from, to lexer.Position) string {
	src := c.d.src[from.Filename]
	if src == nil || from.Offset < 0 || to.Offset > len(src) || from.Offset > to.Offset {
		return ""
	}
	s := string(src[from.Offset:to.Offset])
	// Drop comments, fold blanks.
	var b strings.Builder
	for _, line := range strings.Split(s, "\n") {
		if i := strings.IndexByte(line, '#'); i >= 0 && !strings.ContainsAny(line[:i], "\"`") {
			line = line[:i]
		}
		b.WriteString(line)
		b.WriteByte(' ')
	}
	return strings.Join(strings.Fields(b.String()), " ")
}

func famName(f family) string {
	switch f {
	case fam4:
		return "IPv4 addresses"
	case fam6:
		return "IPv6 addresses"
	}
	return `"host:port" strings`
}

func (c *checker) expr(e *Expr, fam family, ctx string) MatchIR {
	return combine(e.Or, func(cj *Conj) MatchIR { return c.conj(cj, fam, ctx) },
		func(m MatchIR) ([]MatchIR, bool) {
			a, ok := m.(*MAnyOf)
			if !ok {
				return nil, false
			}
			return a.Xs, true
		},
		func(xs []MatchIR) MatchIR { return &MAnyOf{Xs: xs} })
}

func (c *checker) conj(cj *Conj, fam family, ctx string) MatchIR {
	return combine(cj.And, func(u *Unary) MatchIR { return c.unary(u, fam, ctx) },
		func(m MatchIR) ([]MatchIR, bool) {
			a, ok := m.(*MAll)
			if !ok {
				return nil, false
			}
			return a.Xs, true
		},
		func(xs []MatchIR) MatchIR { return &MAll{Xs: xs} })
}

// combine checks every operand of an "or" or an "and" with check (all of
// them, so that each reports its faults) and returns nil if any failed.
// Operands that are already of the combined kind, as flat tells, are
// spliced in; a single operand stands alone, more are joined by wrap.
func combine[T any](ops []T, check func(T) MatchIR, flat func(MatchIR) ([]MatchIR, bool), wrap func([]MatchIR) MatchIR) MatchIR {
	var xs []MatchIR
	ok := true
	for _, op := range ops {
		m := check(op)
		if m == nil {
			ok = false
			continue
		}
		if inner, same := flat(m); same {
			xs = append(xs, inner...)
		} else {
			xs = append(xs, m)
		}
	}
	if !ok {
		return nil
	}
	if len(xs) == 1 {
		return xs[0]
	}
	return wrap(xs)
}

func (c *checker) unary(u *Unary, fam family, ctx string) MatchIR {
	switch {
	case u.Not != nil:
		x := c.unary(u.Not, fam, ctx)
		if x == nil {
			return nil
		}
		return &MNot{X: x}
	case u.Paren != nil:
		return c.expr(u.Paren, fam, ctx)
	case u.Any:
		return MAny{}
	case u.In != nil:
		set := c.sets[u.In.Name]
		if set == nil {
			msg := fmt.Sprintf("unknown set %q", u.In.Name)
			if s := suggest(u.In.Name, keysOf(c.sets)); s != "" {
				msg += fmt.Sprintf("; did you mean %q?", s)
			}
			c.d.errorf(u.In.Pos, "%s", msg)
			return nil
		}
		if (set.Kind == SetCIDR) != (fam != famStr) {
			c.d.errorf(u.In.Pos, "set %s (%s) is not allowed in %s: its rules see %s", set.Name, set.Kind, ctx, famName(fam))
			return nil
		}
		set.used[fam] = true
		return &MSet{Set: set, Fam: fam}
	}
	if u.Kind == "cidr" {
		if fam == famStr {
			c.d.errorf(u.Pos, "\"cidr\" is not allowed in %s: its rules see \"host:port\" strings; prefixes work in route/route6", ctx)
			return nil
		}
		m := &MCIDR{V6: fam == fam6, Org: &Origin{File: u.Pos.Filename}}
		ok := true
		for _, v := range u.Values {
			s, good := c.value(v)
			if !good {
				ok = false
				continue
			}
			p, good := c.prefix(s, v.Pos)
			if !good {
				ok = false
				continue
			}
			if p.Addr().Is6() != m.V6 {
				if m.V6 {
					c.d.errorf(v.Pos, "IPv4 prefix %s in %s: its rules see IPv6 addresses; put it in route", s, ctx)
				} else {
					c.d.errorf(v.Pos, "IPv6 prefix %s in %s: its rules see IPv4 addresses; put it in route6", s, ctx)
				}
				ok = false
				continue
			}
			m.Prefixes = append(m.Prefixes, p)
			m.Org.add(v.Pos)
		}
		if !ok {
			return nil
		}
		return m
	}
	if fam != famStr {
		c.d.errorf(u.Pos, "%q is not allowed in %s: its rules see %s; use redirect/redirect6/redirect_name", u.Kind, ctx, famName(fam))
		return nil
	}
	if u.Kind == "port" {
		m := &MPort{}
		ok := true
		for _, v := range u.Values {
			s, good := c.value(v)
			if !good {
				ok = false
				continue
			}
			r, good := c.port(s, v.Pos)
			if !good {
				ok = false
				continue
			}
			m.Ranges = append(m.Ranges, r)
		}
		if !ok {
			return nil
		}
		return m
	}
	kind, _ := strKindOf(u.Kind) // the grammar admits only string kinds here
	m := &MStr{Kind: kind, Org: &Origin{File: u.Pos.Filename}}
	ok := true
	for _, v := range u.Values {
		s, good := c.value(v)
		if !good {
			ok = false
			continue
		}
		cv, good := c.strValue(m.Kind, s, v.Pos)
		if !good {
			ok = false
			continue
		}
		m.Vals = append(m.Vals, cv)
		m.Org.add(v.Pos)
	}
	if !ok {
		return nil
	}
	return m
}

// --- hosts, users, default ----------------------------------------------------

func (c *checker) hosts(d *Decl) {
	if !c.onlyOnce("hosts", d.Pos) {
		return
	}
	seen := map[string]lexer.Position{}
	add := func(k, v string, kp, vp lexer.Position) {
		if c.nonASCII("host", k, kp) {
			return
		}
		if k == "" || strings.ContainsAny(k, "[]") || (strings.Contains(k, ":") && !isIPv6(k)) {
			c.d.errorf(kp, "invalid hosts name %q", k)
			return
		}
		if strings.ContainsAny(v, "[]") || v == "" || (strings.Contains(v, ":") && !isIPv6(v)) {
			c.d.errorf(vp, "invalid hosts value %q: write an IPv4 address, an IPv6 address without brackets, or a name", v)
			return
		}
		if c.nonASCII("host", v, vp) {
			return
		}
		k = addr.Lower(k)
		if prev, dup := seen[k]; dup {
			x := c.d.errorf(kp, "duplicate hosts entry %s", k)
			x.Notes = append(x.Notes, posString(prev)+": first entry here")
			return
		}
		seen[k] = kp
		c.p.Hosts = append(c.p.Hosts, HostIR{Key: k, Val: v, Pos: kp})
	}
	h := d.Hosts
	if h.From != nil {
		name, ok := c.str(h.From)
		if !ok {
			return
		}
		path := c.rel(c.fileOfAt[d], name)
		b, err := c.o.ReadFile(path)
		if err != nil {
			c.d.errorf(h.From.Pos, "hosts file %q: %s", path, ioReason(err))
			return
		}
		c.d.src[path] = b
		for _, e := range lists.Hosts(string(b)) {
			p := lexer.Position{Filename: path, Line: int(e.IP.Line), Column: int(e.IP.Col)}
			if e.Name == "" {
				c.d.errorf(p, "hosts line needs an address and a name")
				continue
			}
			add(e.Name, e.IP.Value, p, p)
		}
		return
	}
	for _, e := range h.Entries {
		k, ok1 := c.value(e.Key)
		v, ok2 := c.value(e.Val)
		if ok1 && ok2 {
			add(k, v, e.Key.Pos, e.Val.Pos)
		}
	}
}

func (c *checker) users(d *Decl) {
	if !c.onlyOnce("users", d.Pos) {
		return
	}
	c.p.HasUsers = true
	seen := map[string]bool{}
	for _, e := range d.Users.Entries {
		name, ok := c.value(e.Name)
		if !ok {
			continue
		}
		if seen[name] {
			c.d.errorf(e.Name.Pos, "duplicate user %q", name)
			continue
		}
		seen[name] = true
		u := UserIR{Name: name, Any: e.Any, Pos: e.Name.Pos}
		if !e.Any {
			if u.Pass, ok = c.str(e.Pass); !ok {
				continue
			}
		}
		c.p.Users = append(c.p.Users, u)
	}
}

func (c *checker) deflt(d *Decl) {
	if !c.onlyOnce("default", d.Pos) {
		return
	}
	a := c.action(d.Default.Action)
	tag, ok := c.tag(d.Default.Tag)
	if a == nil || !ok {
		return
	}
	c.p.Default = c.newRule(&RuleIR{Pos: d.Pos, Text: "default", A: a, Tag: tag})
}

// --- tests ----------------------------------------------------------------

func (c *checker) test(t *TestDecl, pos lexer.Position) {
	ti := &TestIR{Pos: pos, Auth: t.Auth, DNS: map[string]string{}}
	if t.Name != nil {
		ti.Name, _ = c.str(t.Name)
	}
	for _, it := range t.Items {
		if it.DNS != nil {
			name, ok := c.value(it.DNS.Name)
			if !ok {
				continue
			}
			val := ""
			if !it.DNS.Fail {
				if val, ok = c.value(it.DNS.Addr); !ok {
					continue
				}
				if _, ok4 := addr.ParseIPv4(val); !ok4 && !isIPv6(val) {
					c.d.errorf(it.DNS.Addr.Pos, "dns %s: %q is not an IP address", name, val)
					continue
				}
			}
			ti.DNS[addr.Lower(name)] = val
			continue
		}
		k := it.Case
		cs := &CaseIR{Pos: it.Pos}
		var ok bool
		if cs.Addr, ok = c.str(k.Addr); !ok {
			continue
		}
		switch k.Callback {
		case "resolve":
			cs.Callback = route.Resolve
		case "route":
			cs.Callback = route.Route
		case "route6":
			cs.Callback = route.Route6
		default:
			cs.Callback = route.Resolve
			if h, _, err := addr.Split(cs.Addr); err == nil {
				if _, is4 := addr.ParseIPv4(h); is4 {
					cs.Callback = route.Route
				} else if strings.HasPrefix(cs.Addr, "[") && isIPv6(h) {
					cs.Callback = route.Route6
				}
			}
		}
		if k.User != nil {
			if cs.Cred.Username, ok = c.str(k.User); !ok {
				continue
			}
			cs.Cred.HasUsername = true
			if k.Password != nil {
				if cs.Cred.Password, ok = c.str(k.Password); !ok {
					continue
				}
				cs.Cred.HasPassword = true
			}
		}
		switch {
		case k.Reject:
			cs.Want = route.Reject
		case k.Error:
			cs.Want = route.Error
		default:
			cs.Want = route.Forward
			if cs.To, ok = c.str(k.To); !ok {
				continue
			}
			if cs.Via, ok = c.hops(k.Via, false); !ok {
				continue
			}
		}
		if k.Tags != nil {
			cs.CheckTags = true
			for _, v := range k.Tags {
				s, good := c.value(v)
				if good {
					cs.Tags = append(cs.Tags, s)
				}
			}
		}
		ti.Cases = append(ti.Cases, cs)
	}
	c.p.Tests = append(c.p.Tests, ti)
}

// --- helpers ----------------------------------------------------------------

func keysOf[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}

// suggest returns the closest candidate within edit distance 2.
func suggest(s string, cands []string) string {
	best, bd := "", 3
	for _, c := range cands {
		if d := editDistance(s, c); d < bd || (d == bd && c < best) {
			best, bd = c, d
		}
	}
	return best
}

func editDistance(a, b string) int {
	if len(a) > 64 || len(b) > 64 {
		return 99
	}
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
