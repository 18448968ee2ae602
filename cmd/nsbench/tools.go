package main

import (
	"fmt"
	"io"
	"os"

	"github.com/neosocksd-go/neosocksd/cmd/nsbench/internal/agg"
	"github.com/neosocksd-go/neosocksd/cmd/nsbench/internal/rulesetgen"
)

// runRulesetGen writes the Lua ruleset (-lua) and the route table (-nrt)
// of the same generated rules; "-" is stdout.
func runRulesetGen(args []string, stdout, stderr io.Writer) int {
	fs := newFlags("rulesetgen", stderr)
	var o rulesetgen.Options
	fs.Uint64Var(&o.Seed, "seed", 1, "generator seed")
	fs.IntVar(&o.Domains, "domains", 10000, "redirect_name entries (half domain, half exact host:port matches), all rejected")
	fs.IntVar(&o.Subnets, "subnets", 1000, "route prefixes outside 127.0.0.0/8, all rejected")
	form := fs.String("form", "linear", "linear: one rule per entry; table: one rule per matcher kind over a list")
	fs.StringVar(&o.SinkHost, "host", "localhost", "host `name` of the sink, routed to 127.0.0.1 with its port kept")
	luaOut := fs.String("lua", "", "write the Lua ruleset (for libruleset) to `file` (- for stdout)")
	nrtOut := fs.String("nrt", "", "write the same rules as a route table to `file` (- for stdout)")
	fs.Usage = func() {
		fmt.Fprint(stderr, "usage: nsbench rulesetgen [flags] -lua FILE.lua -nrt FILE.nrt\n\n"+
			"The same flags always give the same bytes. Only the sink's host name and\n"+
			"loopback are reachable through the rules; everything else is rejected.\n\n")
		fs.PrintDefaults()
	}
	if st, ok := parseFlags(fs, args); !ok {
		return st
	}
	if (*luaOut == "" && *nrtOut == "") || fs.NArg() != 0 || (*luaOut == "-" && *nrtOut == "-") {
		fs.Usage()
		return 2
	}
	o.Form = rulesetgen.Form(*form)
	rules, err := rulesetgen.Generate(o)
	if err != nil {
		return failf(stderr, "%v", err)
	}
	for _, out := range []struct {
		path  string
		write func(io.Writer) error
	}{{*luaOut, rules.WriteLua}, {*nrtOut, rules.WriteNRT}} {
		if err := writeTo(out.path, stdout, out.write); err != nil {
			return failf(stderr, "rulesetgen: %v", err)
		}
	}
	return 0
}

// writeTo runs write on path ("-": stdout; "": nothing).
func writeTo(path string, stdout io.Writer, write func(io.Writer) error) error {
	switch path {
	case "":
		return nil
	case "-":
		return write(stdout)
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := write(f); err != nil {
		f.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	return f.Close()
}

// runAgg prints the medians of "system<TAB>round<TAB>metric=value unit"
// lines and, for two systems, the per-round paired ratios.
func runAgg(args []string, stdout, stderr io.Writer) int {
	fs := newFlags("agg", stderr)
	in := fs.String("in", "-", "input `file` (- for stdin), e.g. a run's raw.tsv")
	md := fs.String("md", "", "also write a Markdown table to `file`")
	order := fs.String("order", "", "comma `list` of systems in display order; with two, ratios are second/first (default: as first seen)")
	if st, ok := parseFlags(fs, args); !ok {
		return st
	}
	r := os.Stdin
	if *in != "-" {
		f, err := os.Open(*in)
		if err != nil {
			return failf(stderr, "agg: %v", err)
		}
		defer f.Close()
		r = f
	}
	var tab agg.Table
	if err := tab.ReadTSV(r); err != nil {
		return failf(stderr, "%v", err)
	}
	systems := tab.Systems()
	if *order != "" {
		systems = splitList(*order)
	}
	rows := tab.Rows(systems)
	if err := agg.WriteText(stdout, systems, rows); err != nil {
		return failf(stderr, "agg: %v", err)
	}
	if err := writeTo(*md, stdout, func(w io.Writer) error { return agg.WriteMarkdown(w, systems, rows) }); err != nil {
		return failf(stderr, "agg: %v", err)
	}
	return 0
}
