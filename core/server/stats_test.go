package server

import (
	"context"
	"net/netip"
	"strings"
	"testing"

	"github.com/neosocksd-go/neosocksd/core/addr"
	"github.com/neosocksd-go/neosocksd/core/dial"
	"github.com/neosocksd-go/neosocksd/core/proto/socks5"
	"github.com/neosocksd-go/neosocksd/core/route"
)

// TestConnectLatencyCountsProxyDials checks that Connect Latency samples
// the dials made for proxy requests (server-driven and an engine's active
// dial), and neither a request the router rejected nor a dial of another
// user of the same counters, such as the ruleset's RPC client.
func TestConnectLatencyCountsProxyDials(t *testing.T) {
	bothPaths(t, func(t *testing.T) {
		echo := echoServer(t)
		router := route.RouterFunc(func(ctx context.Context, req *route.Request) (route.Decision, error) {
			switch {
			case strings.HasPrefix(req.Addr, "active."):
				up, err := req.Dial(ctx, echo, route.Chain{})
				if err != nil {
					return route.Decision{Verdict: route.Error, Reason: err.Error()}, nil
				}
				return route.Decision{Verdict: route.Committed, Conn: up}, nil
			case strings.HasPrefix(req.Addr, "direct."):
				return route.Direct(echo), nil
			}
			return route.Decision{Verdict: route.Reject}, nil
		})
		ts := startServer(t, testConfig(), router, nil)
		samples := func() int { return ts.stats.ConnectLatency.Percentiles().N }
		steps := []struct {
			name   string
			do     func(t *testing.T)
			growth int
		}{
			{"server-driven dial", func(t *testing.T) { connect5(t, ts.addr, "direct.test:80", socks5.Succeeded) }, 1},
			{"active dial", func(t *testing.T) { connect5(t, ts.addr, "active.test:80", socks5.Succeeded) }, 1},
			{"rejected request", func(t *testing.T) { connect5(t, ts.addr, "reject.test:80", socks5.GeneralFailure) }, 0},
			{"rpc client dial", func(t *testing.T) {
				// the daemon's RPC client dials with a dialer sharing the counters
				d := dial.New(dial.Options{Stats: ts.stats})
				c, err := d.Dial(context.Background(), addr.FromAddrPort(netip.MustParseAddrPort(echo)), route.Chain{})
				if err != nil {
					t.Fatal(err)
				}
				c.Close()
			}, 0},
		}
		for _, st := range steps {
			t.Run(st.name, func(t *testing.T) {
				before := samples()
				st.do(t)
				if got := samples() - before; got != st.growth {
					t.Fatalf("latency samples grew by %d, want %d", got, st.growth)
				}
			})
		}
	})
}

// connect5 sends a SOCKS5 CONNECT to target through the proxy at p and
// expects reply; a granted tunnel must echo.
func connect5(t *testing.T, p, target string, want socks5.Reply) {
	t.Helper()
	c := dialProxy(t, p)
	defer c.Close()
	if r, _ := request5(t, c, connectReq(t, target)...); r != want {
		t.Fatalf("reply %v, want %v", r, want)
	}
	if want == socks5.Succeeded {
		echoRoundTrip(t, c, "latency")
	}
}
