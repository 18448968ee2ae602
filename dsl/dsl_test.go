package dsl

import (
	"context"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/neosocksd-go/neosocksd/core/route"
)

var update = flag.Bool("update", false, "rewrite golden files")

const sep = "\n----------\n"

// readGolden splits a golden file into its input and expected output.
func readGolden(t *testing.T, path string) (string, string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	in, out, _ := strings.Cut(string(b), sep)
	return in, out
}

func writeGolden(t *testing.T, path, in, out string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(in+sep+out), 0o644); err != nil {
		t.Fatal(err)
	}
}

func dirOptions(dir string) CheckOptions {
	return CheckOptions{
		ReadFile: func(name string) ([]byte, error) { return os.ReadFile(filepath.Join(dir, name)) },
		Getenv: func(name string) (string, bool) {
			if name == "GW_PASS" {
				return "p@ss word", true
			}
			return "", false
		},
	}
}

func TestDiagnosticsGolden(t *testing.T) {
	files, _ := filepath.Glob("testdata/diag/*.nrt")
	if len(files) < 10 {
		t.Fatalf("only %d golden files", len(files))
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			in, want := readGolden(t, f)
			_, d := Check(filepath.Base(f), []byte(in), dirOptions("testdata/diag"))
			got := d.Format()
			if *update {
				writeGolden(t, f, in, got)
				return
			}
			if got != want {
				t.Errorf("diagnostics differ\n--- got\n%s--- want\n%s", got, want)
			}
		})
	}
}

func loadExample(t testing.TB, name string) *Program {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	p, d := Check(name, b, dirOptions("testdata"))
	if p == nil {
		t.Fatalf("%s:\n%s", name, d.Format())
	}
	return p
}

func TestExampleTestBlocks(t *testing.T) {
	p := loadExample(t, "ex4.nrt")
	res, err := RunTests(p)
	if err != nil {
		t.Fatal(err)
	}
	if len(res) != 7 {
		t.Fatalf("%d cases, want 7", len(res))
	}
	for _, r := range res {
		if r.Failure != "" {
			t.Errorf("%s %q: %s", posString(r.Case.Pos), r.Case.Addr, r.Failure)
		}
	}
}

type decCase struct {
	name string
	cb   route.Callback
	addr string
	want string // FormatDecision, "ERROR" for any error
	tags string // comma-separated events
}

func runDecisions(t *testing.T, tbl *Table, env *Env, cases []decCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			d, ev := tbl.Decide(context.Background(), tc.cb, tc.addr, route.Credentials{}, env)
			got := FormatDecision(d)
			if d.Verdict == route.Error {
				got = "ERROR"
			}
			if got != tc.want {
				t.Errorf("%s %q: got %s, want %s", tc.cb, tc.addr, got, tc.want)
			}
			var tags []string
			for _, e := range ev {
				tags = append(tags, e.Tag)
			}
			if strings.Join(tags, ",") != tc.tags {
				t.Errorf("%s %q: tags %v, want %s", tc.cb, tc.addr, tags, tc.tags)
			}
		})
	}
}

const (
	front   = "socks4a://front-proxy.lan:1080"
	gateway = "socks5://user:pass@gateway.lan:1080"
)

func TestEx1Decisions(t *testing.T) {
	tbl, err := Compile(loadExample(t, "ex1.nrt"))
	if err != nil {
		t.Fatal(err)
	}
	gw := `chain [` + gateway + `]`
	cases := []decCase{
		{"local", route.Resolve, "printer.local:631", `ROUTE "printer.local:631" chain []`, ""},
		{"ssh", route.Resolve, "SERVER.lan:22", `ROUTE "127.0.0.1:22" chain []`, "ssh"},
		{"http", route.Resolve, "server.lan:80", `ROUTE "127.0.0.1:80" chain []`, ""},
		{"https reject", route.Resolve, "server.lan:443", `REJECT`, ""},
		{"host keeps port", route.Resolve, "server.lan:8080", `ROUTE "127.0.0.1:8080" chain []`, "localhost"},
		{"hosts to lan", route.Resolve, "Site1.LAN:80", `ROUTE "192.168.1.100:80" chain []`, "lan"},
		{"dns redirect", route.Route, "1.1.1.1:53", `ROUTE "127.0.0.53:53" chain []`, ""},
		{"v6 dns", route.Route6, "[2001:db8::1]:53", `ROUTE "127.0.0.53:53" chain []`, ""},
		{"loopback reject", route.Route, "127.0.0.1:80", `REJECT`, ""},
		{"link local", route.Route, "169.254.1.1:80", `REJECT`, ""},
		{"lan", route.Route, "192.168.7.7:80", `ROUTE "192.168.7.7:80" chain []`, "lan"},
		{"v6 loopback", route.Route6, "[::1]:80", `REJECT`, ""},
		{"v4 mapped", route.Route6, "[::ffff:1.2.3.4]:80", `REJECT`, ""},
		{"default", route.Resolve, "example.com:443", `ROUTE "example.com:443" ` + gw, "gateway"},
		{"default v4", route.Route, "8.8.8.8:53", `ROUTE "8.8.8.8:53" ` + gw, "gateway"},
		{"default v6", route.Route6, "[2001:db8::1]:80", `ROUTE "[2001:db8::1]:80" ` + gw, "gateway"},
		{"split error", route.Resolve, "no-port", "ERROR", ""},
		{"ip name", route.Resolve, "192.168.1.1:80", `ROUTE "192.168.1.1:80" chain []`, "lan"},
	}
	runDecisions(t, tbl, &Env{}, cases)

	// External sets: absent, then filled, then cleared.
	if err := tbl.SetSet("biglist", []string{"8.8.8.0/24"}); err != nil {
		t.Fatal(err)
	}
	if err := tbl.SetSet("biglist_name", []string{"example.com", "full:exact.example"}); err != nil {
		t.Fatal(err)
	}
	fr := `chain [` + front + `]`
	runDecisions(t, tbl, &Env{}, []decCase{
		{"biglist v4", route.Route, "8.8.8.8:53", `ROUTE "8.8.8.8:53" ` + fr, "biglist"},
		{"biglist name", route.Resolve, "www.example.com:443", `ROUTE "www.example.com:443" ` + fr, "biglist"},
		{"biglist full", route.Resolve, "exact.example:1", `ROUTE "exact.example:1" ` + fr, "biglist"},
		{"biglist6 absent", route.Route6, "[2001:db8::1]:80", `ROUTE "[2001:db8::1]:80" ` + gw, "gateway"},
	})
	if err := tbl.SetSet("biglist", []string{"8.8.8.1/24"}); err == nil {
		t.Error("SetSet accepted a prefix with host bits")
	}
	if err := tbl.SetSet("nosuch", nil); err == nil {
		t.Error("SetSet accepted an unknown set")
	}
	if err := tbl.SetSet("biglist", nil); err != nil {
		t.Fatal(err)
	}
	runDecisions(t, tbl, &Env{}, []decCase{
		{"biglist cleared", route.Route, "8.8.8.8:53", `ROUTE "8.8.8.8:53" ` + gw, "gateway"},
	})
}

func TestEx2Decisions(t *testing.T) {
	tbl, err := Compile(loadExample(t, "ex2.nrt"))
	if err != nil {
		t.Fatal(err)
	}
	wan := "chain [socks5://user:p%40ss%20word@gateway.lan:1080]"
	r1 := "chain [socks4a://192.168.32.1:1080]"
	r12 := "chain [socks4a://192.168.32.1:1080, socks4a://192.168.33.1:1080]"
	runDecisions(t, tbl, &Env{}, []decCase{
		{"ssh", route.Resolve, "peer0.lan:22", `ROUTE "host-gateway:22" chain []`, "ssh"},
		{"web keeps host", route.Resolve, "peer0.lan:443", `ROUTE "peer0.lan:8443" chain []`, "web"},
		{"lan", route.Resolve, "Host123.Region2.LAN:8080", `ROUTE "Host123.Region2.LAN:8080" chain []`, "lan"},
		{"region1", route.Route, "192.168.32.9:80", `ROUTE "192.168.32.9:80" ` + r1, "region1"},
		{"region2", route.Route, "192.168.33.9:80", `ROUTE "192.168.33.9:80" ` + r12, "region2"},
		{"lan16", route.Route, "192.168.99.9:80", `ROUTE "192.168.99.9:80" chain []`, "lan"},
		{"big v4", route.Route, "203.0.113.5:80", `ROUTE "203.0.113.5:80" chain []`, "biglist"},
		{"big v4 single", route.Route, "198.51.100.7:80", `ROUTE "198.51.100.7:80" chain []`, "biglist"},
		{"big v6", route.Route6, "[2001:db8:beef::1]:80", `ROUTE "[2001:db8:beef::1]:80" chain []`, "biglist"},
		{"wan", route.Resolve, "example.org:443", `ROUTE "example.org:443" ` + wan, "wan"},
		{"wan v6", route.Route6, "[2001:db8::1]:443", `ROUTE "[2001:db8::1]:443" ` + wan, "wan"},
	})
}

func TestEx3LoadBalancing(t *testing.T) {
	tbl, err := Compile(loadExample(t, "ex3.nrt"))
	if err != nil {
		t.Fatal(err)
	}
	// weighted cycle 100 with weights 1,1,1,1,0.5: the first cycle of 100
	// steps visits the first four backends every time and the fifth only
	// while r < 0.5.
	counts := map[string]int{}
	for i := 0; i < 450; i++ {
		d, _ := tbl.Decide(context.Background(), route.Resolve, "svc.example:80", route.Credentials{}, nil)
		counts[d.Target]++
	}
	if counts["10.0.0.1:30001"] != 100 || counts["10.0.0.5:30001"] != 50 {
		t.Errorf("iwrr distribution %v", counts)
	}
	// The egress instance is shared by redirect_name and route.
	var got []string
	for i := 0; i < 3; i++ {
		d, _ := tbl.Decide(context.Background(), route.Resolve, "admin.example:443", route.Credentials{}, nil)
		got = append(got, d.Chain.String())
		d, _ = tbl.Decide(context.Background(), route.Route, "10.9.0.1:22", route.Credentials{}, nil)
		got = append(got, d.Chain.String())
	}
	want := "[socks5://e1.lan:1080] [socks5://e2.lan:1080] [] [socks5://e1.lan:1080] [socks5://e2.lan:1080] []"
	if strings.Join(got, " ") != want {
		t.Errorf("roundrobin order %v, want %s", got, want)
	}
}

func TestEx4Decisions(t *testing.T) {
	tbl, err := Compile(loadExample(t, "ex4.nrt"))
	if err != nil {
		t.Fatal(err)
	}
	gw := "chain [socks5://gw.lan:1080]"
	env := &Env{Resolve: FakeResolver(map[string]string{"x.new.example": "203.0.113.7", "v6.new.example": "2001:db8::7"})}
	runDecisions(t, tbl, env, []decCase{
		{"onion", route.Resolve, "abc-def.onion:443", `ROUTE "abc-def.onion:443" chain [socks5://127.0.0.1:9050]`, "onion"},
		{"rewrite", route.Resolve, "bucket.s3.example:443", `ROUTE "bucket.s3-mirror.lan:443" ` + gw, ""},
		{"blocked list domain", route.Resolve, "a.tracker.example:80", `REJECT`, "blocked"},
		{"blocked regexp", route.Resolve, "ad12.example.net:80", `REJECT`, "blocked"},
		{"blocked keyword", route.Resolve, "www.malware-site.test:80", `REJECT`, "blocked"},
		{"blocked full", route.Resolve, "exact.block.example:80", `REJECT`, "blocked"},
		{"full is not a domain", route.Resolve, "a.exact.block.example:80", `ROUTE "a.exact.block.example:80" ` + gw, "default"},
		{"corp ssh", route.Resolve, "git.corp.example:22", `ROUTE "git.corp.example:22" ` + gw, "default"},
		{"resolve fail", route.Resolve, "y.new.example:80", `REJECT`, "resolved"},
		{"resolve v6", route.Resolve, "v6.new.example:80", `ROUTE "[2001:db8::7]:80" ` + gw, "resolved,default"},
		{"rfc1918 hole", route.Route, "10.66.1.1:80", `ROUTE "10.66.1.1:80" ` + gw, "default"},
		{"rfc1918", route.Route, "10.65.1.1:80", `ROUTE "10.65.1.1:80" chain []`, "rfc1918"},
		{"loopback split error", route.Resolve, "legacy.example", "ERROR", ""},
	})
}

func TestFormatIdempotent(t *testing.T) {
	files, _ := filepath.Glob("testdata/*.nrt")
	more, _ := filepath.Glob("testdata/diag/*.nrt")
	files = append(files, more...)
	for _, f := range files {
		t.Run(f, func(t *testing.T) {
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			src, _, _ := strings.Cut(string(b), sep)
			once, err := Format(f, []byte(src))
			if err != nil {
				if strings.HasPrefix(filepath.Base(f), "parse") { // fixtures of parse errors
					return
				}
				t.Fatal(err)
			}
			twice, err := Format(f, once)
			if err != nil {
				t.Fatalf("formatted output does not parse: %v\n%s", err, once)
			}
			if string(once) != string(twice) {
				t.Errorf("not idempotent\n--- once\n%s--- twice\n%s", once, twice)
			}
			// Formatting keeps the meaning: same L-IR as Lua text.
			if filepath.Dir(f) == "testdata" {
				p1, _ := Check(filepath.Base(f), []byte(src), dirOptions("testdata"))
				p2, _ := Check(filepath.Base(f), once, dirOptions("testdata"))
				if p1 == nil || p2 == nil {
					t.Fatal("example does not check")
				}
				if stripPos(Translate(p1)) != stripPos(Translate(p2)) {
					t.Error("formatting changed the translation")
				}
			}
		})
	}
}

func stripPos(s string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if !strings.Contains(strings.TrimSpace(l), "-- ") {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}

func TestTranslateGolden(t *testing.T) {
	for _, name := range []string{"ex1", "ex2", "ex3", "ex4"} {
		t.Run(name, func(t *testing.T) {
			p := loadExample(t, name+".nrt")
			got := Translate(p)
			if got != Translate(p) {
				t.Fatal("translate is not deterministic")
			}
			path := filepath.Join("testdata", "translate", name+".lua")
			if *update {
				os.MkdirAll(filepath.Dir(path), 0o755)
				os.WriteFile(path, []byte(got), 0o644)
				return
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if got != string(want) {
				t.Errorf("translation differs from %s\n%s", path, got)
			}
		})
	}
}

func TestExplain(t *testing.T) {
	tbl, err := Compile(loadExample(t, "ex2.nrt"))
	if err != nil {
		t.Fatal(err)
	}
	text, _, d, _ := tbl.Explain(route.Resolve, "Host123.Region2.LAN:8080", route.Credentials{}, Env{})
	want := `request  name "Host123.Region2.LAN:8080" (auth off)
redirect_name
  ex2.nrt:11:5  exact peer0.lan:22                 no
  ex2.nrt:12:5  exact peer0.lan:80, peer0.lan:443  no
  ex2.nrt:13:5  domain .lan, .local                MATCH suffix "lan" (ex2.nrt:13:12)
  -> direct  tag lan
decision ROUTE "Host123.Region2.LAN:8080" chain []
events   [lan] "Host123.Region2.LAN:8080"
note     hosts entry host123.region2.lan (ex2.nrt:17:5) not consulted
`
	if text != want {
		t.Errorf("explain:\n%s\nwant:\n%s", text, want)
	}
	// Trace mode reaches the same decision as the plain engine.
	d2, _ := tbl.Decide(context.Background(), route.Resolve, "Host123.Region2.LAN:8080", route.Credentials{}, nil)
	if d != d2 {
		t.Errorf("trace decision %v != %v", d, d2)
	}
}

func TestLoopLimit(t *testing.T) {
	src := "redirect_name {\n    domain a.example => loopback \"a%.example\" to \"a.example\"\n}\n"
	p, d := Check("loop.nrt", []byte(src), CheckOptions{})
	if p == nil {
		t.Fatal(d)
	}
	tbl, _ := Compile(p)
	got, _ := tbl.Decide(context.Background(), route.Resolve, "a.example:80", route.Credentials{}, nil)
	if got.Verdict != route.Error {
		t.Errorf("loop: %s", FormatDecision(got))
	}
}

func TestAuth(t *testing.T) {
	tbl, err := Compile(loadExample(t, "ex4.nrt"))
	if err != nil {
		t.Fatal(err)
	}
	env := &Env{AuthRequired: true}
	for _, tc := range []struct {
		name string
		cred route.Credentials
		ok   bool
	}{
		{"none", route.Credentials{}, false},
		{"good", route.Credentials{Username: "alice", Password: "s3cret", HasUsername: true, HasPassword: true}, true},
		{"wrong", route.Credentials{Username: "alice", Password: "x", HasUsername: true, HasPassword: true}, false},
		{"no password", route.Credentials{Username: "alice", HasUsername: true}, false},
		{"any user", route.Credentials{Username: "robot", HasUsername: true}, true},
		{"unknown", route.Credentials{Username: "eve", Password: "s3cret", HasUsername: true, HasPassword: true}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d, ev := tbl.Decide(context.Background(), route.Route, "10.1.2.3:80", tc.cred, env)
			if (d.Verdict == route.Forward) != tc.ok {
				t.Errorf("got %s", FormatDecision(d))
			}
			if !tc.ok && (len(ev) != 1 || ev[0].Tag != "auth-fail") {
				t.Errorf("events %v", ev)
			}
		})
	}
}
