package dsl

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/alecthomas/participle/v2/lexer"

	"github.com/neosocksd-go/neosocksd/core/addr"
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
		fileOfAt: map[*decl]string{},
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
	decl  *actionDecl
	ir    *ActIR
	state uint8 // 0 new, 1 building, 2 done
}

type chainState struct {
	decl  *chainDecl
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
	decls    []*decl
	fileOfAt map[*decl]string
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
	f, err := parseFile(name, src)
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

// keywords are the words of the language, which no declaration may take.
// Like luaGlobals it is built by the first check that asks, not by the
// package's initializer: a daemon without a route table never asks.
var keywords = lazy[map[string]bool]{build: func() map[string]bool {
	return wordSet(`include upstream set action chain redirect_name redirect redirect6 route route6
		hosts users default test exact host port domain pattern regex cidr list from optional external call
		any in not and or direct reject resolve proxy rewrite loopback roundrobin weighted cycle via to user
		password tag tags env dns fail auth error`)
}}

// luaGlobals are names a dynamic set may not take: the Lua back end reads
// such sets from _G, where libruleset keeps its own state.
var luaGlobals = lazy[map[string]bool]{build: func() map[string]bool {
	return wordSet(`_G _VERSION match rule lb composite inet inet6 hosts secrets route route6
		redirect redirect6 redirect_name route_default config ruleset libruleset string table math os io
		coroutine debug package require print neosocksd await regex time zlib marshal unmarshal list rlist
		printf log logf evlog evlogf async rpc msgh agent parse_cidr parse_cidr6 format_timestamp
		recent_events num_requests num_authorized stat_requests RECENT_EVENTS_STATS pairs ipairs next
		type tostring tonumber error assert pcall xpcall select setmetatable getmetatable rawget rawset
		rawequal load loadstring dofile loadfile unpack collectgarbage`)
}}

// wordSet is the set of the space-separated words of s.
func wordSet(s string) map[string]bool {
	words := strings.Fields(s)
	set := make(map[string]bool, len(words))
	for _, w := range words {
		set[w] = true
	}
	return set
}

// validName reports whether s is a name a declaration may take: letters,
// digits, '_' and '-', not starting with a digit or '-' (what the
// expression ^[A-Za-z_][A-Za-z0-9_-]*$ matches; a loop, so that the
// package's initializer compiles no expression).
func validName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', c == '_':
		case i > 0 && ('0' <= c && c <= '9' || c == '-'):
		default:
			return false
		}
	}
	return true
}

// declare registers a name in the single namespace of upstreams, sets,
// actions and chains.
func (c *checker) declare(id *ident, what string) bool {
	if keywords.get()[id.Name] {
		c.d.errorf(id.Pos, "%s name %q is a keyword", what, id.Name)
		return false
	}
	if !validName(id.Name) {
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
func (c *checker) str(s *str) (string, bool) {
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

func (c *checker) value(v *value) (string, bool) {
	if v.Word != nil {
		return *v.Word, true
	}
	return c.str(v.Str)
}

func (c *checker) upstream(u *upstream) {
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
