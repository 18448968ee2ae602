package api

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/neosocksd-go/neosocksd/core/proto/rpc"
	"github.com/neosocksd-go/neosocksd/core/stats"
)

// msgNoCode answers /ruleset/invoke on an engine that is no Invoker.
const msgNoCode = "ruleset runs no code"

// endpoint describes the restapi_check a leaf endpoint runs.
type endpoint struct {
	method   string // "" = checked by the handler
	needBody bool   // Content-Length required (411)
}

// handle routes one request (api.md §2) and answers it through w.
func (s *Server) handle(ctx context.Context, w *writer) {
	r := w.req
	if r.status != 0 {
		w.page(r.status)
		return
	}
	tg, ok := splitTarget(r.Target)
	if !ok {
		w.page(400)
		return
	}
	seg, ok := tg.segment()
	if !ok {
		w.page(400)
		return
	}
	if s.needsToken(seg) && !s.authorized(r) {
		w.unauthorized()
		return
	}
	switch seg {
	case "healthy":
		if s.check(w, &tg, endpoint{method: "GET"}) {
			s.healthy(ctx, w)
		}
	case "stats":
		if s.check(w, &tg, endpoint{}) {
			s.statsPage(ctx, w, &tg)
		}
	case "metrics":
		if s.check(w, &tg, endpoint{}) {
			if r.Method != "GET" {
				w.page(405)
				return
			}
			s.metrics(ctx, w)
		}
	case "ruleset":
		rs := s.ruleset()
		if rs == nil {
			w.errmsg(500, rpc.NoRuleset)
			return
		}
		sub, ok := tg.segment()
		if !ok {
			w.page(400)
			return
		}
		switch sub {
		case "invoke":
			if s.check(w, &tg, endpoint{method: "POST", needBody: true}) {
				s.invoke(ctx, w, rs)
			}
		case "update":
			if s.check(w, &tg, endpoint{method: "POST", needBody: true}) {
				s.update(ctx, w, rs, &tg)
			}
		case "gc":
			if s.check(w, &tg, endpoint{method: "POST"}) {
				s.gc(ctx, w, rs)
			}
		case "rpcall":
			if s.check(w, &tg, endpoint{method: "POST", needBody: true}) {
				s.rpcall(ctx, w, rs)
			}
		default:
			w.page(404)
		}
	default:
		w.page(404)
	}
}

// check runs restapi_check: extra path segments 404, wrong method 405,
// chunked body 501, missing Content-Length 411. It answers and returns
// false on failure.
func (s *Server) check(w *writer, tg *target, ep endpoint) bool {
	r := w.req
	switch {
	case tg.rest != "":
		w.page(404)
	case ep.method != "" && r.Method != ep.method:
		w.page(405)
	case r.chunked:
		w.page(501)
	case ep.needBody && r.contentLength < 0:
		w.page(411)
	default:
		return true
	}
	return false
}

// body reads and decodes the request body. On failure it has answered
// (or the connection is dead) and returns false.
func (s *Server) body(w *writer) ([]byte, bool) {
	r := w.req
	if r.contentLength <= 0 {
		return nil, true
	}
	if r.expectContinue {
		if w.err = w.cc.write([]byte("HTTP/1.1 100 Continue\r\n\r\n")); w.err != nil {
			return nil, false
		}
	}
	if r.encoding == "" {
		b, err := w.cc.readBody(r.contentLength)
		if err != nil {
			w.err, w.close = err, true
			return nil, false
		}
		return b, true
	}
	b, err := w.cc.readEncodedBody(r.contentLength, r.encoding)
	var ioErr *bodyIOError
	switch {
	case errors.As(err, &ioErr):
		w.err, w.close = ioErr.err, true
		return nil, false
	case errors.Is(err, errBodyTooLarge):
		w.page(413)
		return nil, false
	case err != nil:
		w.page(400)
		return nil, false
	}
	return b, true
}

func (s *Server) healthy(ctx context.Context, w *writer) {
	if _, ok := s.body(w); !ok {
		return
	}
	if rs := s.ruleset(); rs != nil {
		if msg := rs.Healthy(ctx); msg != "" {
			w.errmsg(503, msg)
			return
		}
	}
	w.reply(200, "", nil)
}

func (s *Server) statsPage(ctx context.Context, w *writer, tg *target) {
	q, ok := parseQuery(tg.query)
	if !ok {
		w.page(400)
		return
	}
	r := w.req
	if r.Method != "GET" && r.Method != "POST" {
		w.page(405)
		return
	}
	if _, ok := s.body(w); !ok {
		return
	}
	opt := statsOptions{
		banner:  !boolParam(q, "nobanner", false),
		server:  boolParam(q, "server", true),
		runtime: boolParam(q, "runtime", false),
		post:    r.Method == "POST",
	}
	if v, ok := q["q"]; ok && v.hasValue && opt.post {
		opt.q = &v.value
	}
	body := s.appendStats(ctx, nil, opt)
	var hdr strings.Builder
	if !opt.post {
		hdr.WriteString("Cache-Control: no-store\r\n")
	}
	hdr.WriteString(textPlain)
	if r.acceptDeflate {
		hdr.WriteString("Content-Encoding: deflate\r\n")
		body = rpc.Deflate(body)
	}
	w.reply(200, hdr.String(), body)
}

func (s *Server) metrics(ctx context.Context, w *writer) {
	if _, ok := s.body(w); !ok {
		return
	}
	body := s.appendMetrics(ctx, nil)
	hdr := "Cache-Control: no-store\r\nContent-Type: text/plain; version=0.0.4; charset=utf-8\r\n"
	if w.req.acceptDeflate {
		hdr += "Content-Encoding: deflate\r\n"
		body = rpc.Deflate(body)
	}
	w.reply(200, hdr, body)
}

func (s *Server) invoke(ctx context.Context, w *writer, rs Ruleset) {
	code, ok := s.body(w)
	if !ok {
		return
	}
	inv, ok := rs.(Invoker)
	if !ok {
		w.errmsg(500, msgNoCode)
		return
	}
	if err := inv.Invoke(ctx, code); err != nil {
		s.log.Debug("api invoke", "err", err)
		w.errmsg(500, err.Error())
		return
	}
	w.reply(200, "", nil)
}

func (s *Server) update(ctx context.Context, w *writer, rs Ruleset, tg *target) {
	q, ok := parseQuery(tg.query)
	if !ok {
		w.page(400)
		return
	}
	code, ok := s.body(w)
	if !ok {
		return
	}
	var module, chunkname string
	if v := q["module"]; v.hasValue {
		module = v.value
	}
	if v := q["chunkname"]; v.hasValue {
		chunkname = v.value
	}
	t0 := time.Now()
	if err := rs.Update(ctx, module, chunkname, code); err != nil {
		s.log.Debug("api update", "err", err)
		w.errmsg(500, err.Error())
		return
	}
	body := appendLabel(nil, "Time Cost")
	body = append(body, stats.FormatDuration(time.Since(t0))...)
	body = append(body, '\n')
	w.reply(200, textPlain, body)
}

func (s *Server) gc(ctx context.Context, w *writer, rs Ruleset) {
	if _, ok := s.body(w); !ok {
		return
	}
	t0 := time.Now()
	var before, after Runtime
	if c, ok := rs.(Collector); ok {
		var err error
		if before, after, err = c.GC(ctx); err != nil {
			w.errmsg(500, err.Error())
			return
		}
	}
	cost := time.Since(t0)
	b := appendLabel(nil, "Difference")
	b = stats.AppendBytes(b, float64(after.Allocated)-float64(before.Allocated))
	b = append(b, " ("...)
	b = append(b, stats.FormatSI(float64(after.Objects)-float64(before.Objects))...)
	b = append(b, " objects)\n"...)
	b = appendRuntime(b, after)
	b = appendLabel(b, "Time Cost")
	b = append(b, stats.FormatDuration(cost)...)
	b = append(b, '\n')
	w.reply(200, textPlain, b)
}

func (s *Server) rpcall(ctx context.Context, w *writer, rs Ruleset) {
	r := w.req
	if !r.hasContentType || !rpc.IsContentType(r.contentType) {
		w.page(400)
		return
	}
	code, ok := s.body(w)
	if !ok {
		return
	}
	rc, ok := rs.(RPCaller)
	if !ok {
		w.errmsg(500, rpc.NoReturn)
		return
	}
	out, err := rc.RPCall(ctx, code)
	if err != nil {
		if ctx.Err() != nil {
			// The connection timer fired: close without an answer.
			w.err, w.close = ctx.Err(), true
			return
		}
		s.log.Debug("api rpcall", "err", err)
		w.errmsg(500, rpc.NoReturn)
		return
	}
	hdr := "Content-Type: " + rpc.ContentType + "\r\n"
	if r.acceptDeflate && len(out) >= rpc.MinDeflate {
		hdr += "Content-Encoding: deflate\r\n"
		out = rpc.Deflate(out)
	}
	w.reply(200, hdr, out)
}
