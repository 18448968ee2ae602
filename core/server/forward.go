package server

import (
	"net"

	"github.com/neosocksd-go/neosocksd/core/addr"
	"github.com/neosocksd-go/neosocksd/core/route"
)

// serveForward serves the -l listener in forward mode (-f, protocols §6):
// the dial starts at once, without waiting for client bytes; every
// failure just closes the connection.
func (s *Server) serveForward(c *conn) {
	c.requestParsed()
	dst := s.cur.Load().forward
	c.dst = dst
	s.tunnel(c, dst)
}

// serveTProxy serves the -l listener in transparent mode (protocols §7):
// the original destination is the accepted socket's local address.
func (s *Server) serveTProxy(c *conn) {
	c.requestParsed()
	la, ok := c.LocalAddr().(*net.TCPAddr)
	if !ok {
		return
	}
	dst := addr.FromAddrPort(la.AddrPort())
	c.dst = dst
	s.tunnel(c, dst)
}

// tunnel connects c to target (through the router when there is one,
// with no credentials) and relays.
func (s *Server) tunnel(c *conn, target addr.Addr) {
	req := route.Request{Callback: route.CallbackFor(target.Kind())}
	up, err := s.connect(c, req, target)
	if err != nil {
		proto := "forward"
		if s.conf.Transparent {
			proto = "tproxy"
		}
		s.logFailure(c, proto, err)
		return
	}
	s.relay(c, up, nil)
}
