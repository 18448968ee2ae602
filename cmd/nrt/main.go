// Command nrt is the route-table tool: it checks, tests, explains,
// translates and formats .nrt files. It is a separate binary so that the
// daemon's command line stays exactly neosocksd's.
//
// Exit status: 0 success, 1 check or test failures, 2 usage errors.
package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/netip"
	"os"
	"strings"

	"github.com/neosocksd-go/neosocksd/conformance"
	"github.com/neosocksd-go/neosocksd/core/addr"
	"github.com/neosocksd-go/neosocksd/core/buildinfo"
	"github.com/neosocksd-go/neosocksd/core/route"
	"github.com/neosocksd-go/neosocksd/dsl"
)

const usage = `usage: nrt <command> [flags] [args]

commands:
  check FILE...            compile and lint route tables
  test [--lua] [-v] FILE...
                           run the test blocks of route tables (--lua: also on
                           the translated Lua with libruleset)
  explain -f FILE [--user U --password P] [--auth-required] [--dns name=ip,...] [--json] ADDR...
                           trace the decision for each address; exit 1 if one
                           is malformed (--json: keys are lower-case snake_case)
  translate [-o OUT] FILE  print the equivalent Lua ruleset for libruleset
                           (with the secrets; every other output shows *** for
                           passwords in URIs and values env() resolved to)
  fmt [-w] [-l] FILE...    format route tables (to stdout, or in place with -w)
  conform --dsl FILE.nrt --lua FILE.lua [--requests FILE] [-n N] [--seed S]
          [--auth-required] [--dns name=ip,...] [--min-coverage PERCENT]
          [--prove]
                           decide generated requests with the route table and
                           a Lua ruleset; exit 1 on the first divergence.
                           --prove: decide one request per class of both
                           files' literals instead, answering "equal (proved)"
                           or a counterexample; regex, patterns and Lua
                           functions are named and fall back to the streams
  version                  print the version and the revision built from
`

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// run runs one command. Everything it prints goes through a redactWriter,
// except the Lua that translate prints (see redacted).
func run(args []string, stdout, stderr io.Writer) int {
	sec := &secrets{}
	rawStdout := stdout
	stdout, stderr = redactWriter{stdout, sec}, redactWriter{stderr, sec}
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	cmd, rest := args[0], args[1:]
	switch cmd {
	case "check":
		return check(rest, stdout, stderr)
	case "test":
		return test(rest, stdout, stderr)
	case "explain":
		return explain(rest, stdout, stderr)
	case "translate":
		return translate(rest, rawStdout, stderr)
	case "fmt":
		return format(rest, stdout, stderr)
	case "conform":
		return conform(rest, stdout, stderr)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return 0
	case "version", "--version":
		fmt.Fprintln(stdout, "nrt "+buildinfo.Read().String())
		return 0
	}
	fmt.Fprintf(stderr, "nrt: unknown command %q\n%s", cmd, usage)
	return 2
}

func newFlags(name string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("nrt "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	return fs
}

// load checks one file, printing its diagnostics to stderr. When stderr is
// run's redactWriter, the values env() resolves to become secrets it hides.
func load(path string, stderr io.Writer) (*dsl.Program, bool) {
	src, err := os.ReadFile(path)
	if err != nil {
		fmt.Fprintf(stderr, "nrt: %v\n", err)
		return nil, false
	}
	var o dsl.CheckOptions
	if rw, ok := stderr.(redactWriter); ok {
		o.Getenv = rw.s.getenv
	}
	p, d := dsl.Check(path, src, o)
	fmt.Fprint(stderr, d.Format())
	return p, p != nil
}

func check(args []string, stdout, stderr io.Writer) int {
	fs := newFlags("check", stderr)
	if err := fs.Parse(args); err != nil || fs.NArg() == 0 {
		fmt.Fprint(stderr, "usage: nrt check FILE...\n")
		return 2
	}
	status := 0
	for _, f := range fs.Args() {
		p, ok := load(f, stderr)
		if !ok {
			status = 1
			continue
		}
		if _, err := dsl.Compile(p); err != nil {
			fmt.Fprintf(stderr, "%s: %v\n", f, err)
			status = 1
			continue
		}
		fmt.Fprintf(stdout, "%s: ok\n", f)
	}
	return status
}

func test(args []string, stdout, stderr io.Writer) int {
	fs := newFlags("test", stderr)
	verbose := fs.Bool("v", false, "print every case")
	withLua := fs.Bool("lua", false, "also run the cases on the translated Lua (gopher-lua + libruleset)")
	if err := fs.Parse(args); err != nil || fs.NArg() == 0 {
		fmt.Fprint(stderr, "usage: nrt test [--lua] [-v] FILE...\n")
		return 2
	}
	passed, failed := 0, 0
	for _, f := range fs.Args() {
		p, ok := load(f, stderr)
		if !ok {
			failed++
			continue
		}
		engines := []struct {
			label string
			run   func(*dsl.Program) ([]dsl.CaseResult, error)
		}{{"", dsl.RunTests}}
		if *withLua {
			engines = append(engines, struct {
				label string
				run   func(*dsl.Program) ([]dsl.CaseResult, error)
			}{"lua ", conformance.RunLuaTests})
		}
		for _, e := range engines {
			res, err := e.run(p)
			if err != nil {
				fmt.Fprintf(stderr, "%s: %s%v\n", f, e.label, err)
				failed++
				continue
			}
			for _, r := range res {
				name := r.Test.Name
				if r.Failure != "" {
					failed++
					fmt.Fprintf(stdout, "FAIL %s%s:%d:%d [%s] %q: %s\n", e.label, r.Case.Pos.Filename, r.Case.Pos.Line, r.Case.Pos.Column, name, r.Case.Addr, r.Failure)
					continue
				}
				passed++
				if *verbose {
					fmt.Fprintf(stdout, "ok   %s%s:%d:%d [%s] %q: %s\n", e.label, r.Case.Pos.Filename, r.Case.Pos.Line, r.Case.Pos.Column, name, r.Case.Addr, dsl.FormatDecision(r.Got))
				}
			}
		}
	}
	fmt.Fprintf(stdout, "%d passed, %d failed\n", passed, failed)
	if failed > 0 {
		return 1
	}
	return 0
}

func explain(args []string, stdout, stderr io.Writer) int {
	fs := newFlags("explain", stderr)
	file := fs.String("f", "", "route table `file`")
	user := fs.String("user", "", "user name")
	pass := fs.String("password", "", "password")
	authReq := fs.Bool("auth-required", false, "require authentication")
	dns := fs.String("dns", "", "fake resolver answers `name=ip,...` (other names fail)")
	asJSON := fs.Bool("json", false, "print JSON")
	if err := fs.Parse(args); err != nil || *file == "" || fs.NArg() == 0 {
		fmt.Fprint(stderr, "usage: nrt explain -f FILE [--user U --password P] [--auth-required] [--dns name=ip,...] [--json] ADDR...\n")
		return 2
	}
	table := map[string]string{}
	if *dns != "" {
		for _, kv := range strings.Split(*dns, ",") {
			k, v, ok := strings.Cut(kv, "=")
			if _, err := netip.ParseAddr(v); !ok || err != nil {
				fmt.Fprintf(stderr, "nrt explain: bad --dns entry %q (want name=ip)\n", kv)
				return 2
			}
			table[addr.Lower(k)] = v
		}
	}
	p, ok := load(*file, stderr)
	if !ok {
		return 1
	}
	t, err := dsl.Compile(p)
	if err != nil {
		fmt.Fprintf(stderr, "nrt: %v\n", err)
		return 1
	}
	var cred route.Credentials
	fs.Visit(func(f *flag.Flag) {
		switch f.Name {
		case "user":
			cred.Username, cred.HasUsername = *user, true
		case "password":
			cred.Password, cred.HasPassword = *pass, true
		}
	})
	env := dsl.Env{AuthRequired: *authReq, Resolve: dsl.FakeResolver(table)}
	// jsonOut is one explained request. Every key of the JSON output, the
	// steps' and events' included, is lower-case snake_case.
	type jsonOut struct {
		Addr     string      `json:"addr"`
		Callback string      `json:"callback"`
		Decision string      `json:"decision"`
		Target   string      `json:"target,omitempty"`
		Chain    []string    `json:"chain,omitempty"`
		Events   []dsl.Event `json:"events,omitempty"`
		Steps    []dsl.Step  `json:"steps"`
	}
	var outs []jsonOut
	status := 0
	for _, a := range fs.Args() {
		// A request the proxy could never receive is a mistake in the
		// command line: explain it anyway, and fail.
		if _, err := addr.ParseTarget(a); err != nil {
			fmt.Fprintf(stderr, "nrt explain: malformed request address: %v\n", err)
			status = 1
		}
		cb := callbackFor(a)
		text, tr, d, ev := t.Explain(cb, a, cred, env)
		if *asJSON {
			o := jsonOut{Addr: a, Callback: cb.String(), Decision: dsl.FormatDecision(d), Events: ev, Steps: tr.Steps}
			if d.Verdict == route.Forward {
				o.Target, o.Chain = d.Target, d.Chain.Hops()
			}
			outs = append(outs, o)
			continue
		}
		fmt.Fprint(stdout, text)
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(outs); err != nil {
			fmt.Fprintf(stderr, "nrt: %v\n", err)
			return 1
		}
	}
	return status
}

// callbackFor infers the callback as test cases do: "[v6]:p" route6,
// "a.b.c.d:p" route, anything else resolve.
func callbackFor(a string) route.Callback {
	h, _, err := addr.Split(a)
	if err != nil {
		return route.Resolve
	}
	if _, ok := addr.ParseIPv4(h); ok {
		return route.Route
	}
	if _, ok := addr.ParseIPv6(h); ok && strings.HasPrefix(a, "[") {
		return route.Route6
	}
	return route.Resolve
}

func translate(args []string, stdout, stderr io.Writer) int {
	fs := newFlags("translate", stderr)
	out := fs.String("o", "", "write to `file` (mode 0600) instead of stdout")
	if err := fs.Parse(args); err != nil || fs.NArg() != 1 {
		fmt.Fprint(stderr, "usage: nrt translate [-o OUT] FILE\n")
		return 2
	}
	p, ok := load(fs.Arg(0), stderr)
	if !ok {
		return 1
	}
	lua := dsl.Translate(p)
	if *out == "" {
		fmt.Fprint(stdout, lua)
		return 0
	}
	if err := os.WriteFile(*out, []byte(lua), 0o600); err != nil {
		fmt.Fprintf(stderr, "nrt: %v\n", err)
		return 1
	}
	return 0
}

func format(args []string, stdout, stderr io.Writer) int {
	fs := newFlags("fmt", stderr)
	write := fs.Bool("w", false, "write the result to the file instead of stdout")
	list := fs.Bool("l", false, "list files whose formatting differs")
	if err := fs.Parse(args); err != nil || fs.NArg() == 0 {
		fmt.Fprint(stderr, "usage: nrt fmt [-w] [-l] FILE...\n")
		return 2
	}
	status := 0
	for _, f := range fs.Args() {
		src, err := os.ReadFile(f)
		if err != nil {
			fmt.Fprintf(stderr, "nrt: %v\n", err)
			status = 1
			continue
		}
		res, err := dsl.Format(f, src)
		if err != nil {
			var d *dsl.Diagnostics
			if errors.As(err, &d) {
				fmt.Fprint(stderr, d.Format())
			} else {
				fmt.Fprintf(stderr, "nrt: %v\n", err)
			}
			status = 1
			continue
		}
		changed := !bytes.Equal(src, res)
		if *list && changed {
			fmt.Fprintln(stdout, f)
		}
		if *write {
			if changed {
				if err := os.WriteFile(f, res, 0o644); err != nil {
					fmt.Fprintf(stderr, "nrt: %v\n", err)
					status = 1
				}
			}
			continue
		}
		if !*list {
			stdout.Write(res)
		}
	}
	return status
}
