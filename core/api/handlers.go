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

// handle answers one request: a handler's error is answered by fail.
func (s *Server) handle(ctx context.Context, w *writer) {
	if err := s.route(ctx, w); err != nil {
		s.fail(w, err)
	}
}

// route dispatches one request (api.md §2) to its handler.
func (s *Server) route(ctx context.Context, w *writer) error {
	r := w.req
	if r.status != 0 {
		return pageError(r.status)
	}
	tg, ok := splitTarget(r.Target)
	if !ok {
		return pageError(400)
	}
	seg, ok := tg.segment()
	if !ok {
		return pageError(400)
	}
	if s.needsToken(seg) && !s.authorized(r) {
		return errUnauthorized
	}
	switch seg {
	case "healthy":
		if err := check(r, &tg, endpoint{method: "GET"}); err != nil {
			return err
		}
		return s.healthy(ctx, w)
	case "stats":
		if err := check(r, &tg, endpoint{}); err != nil {
			return err
		}
		return s.statsPage(ctx, w, &tg)
	case "metrics":
		if err := check(r, &tg, endpoint{}); err != nil {
			return err
		}
		if r.Method != "GET" {
			return pageError(405)
		}
		return s.metrics(ctx, w)
	case "ruleset":
		rs := s.ruleset()
		if rs == nil {
			return textError(500, rpc.NoRuleset, nil)
		}
		sub, ok := tg.segment()
		if !ok {
			return pageError(400)
		}
		var ep endpoint
		var h func() error
		switch sub {
		case "invoke":
			ep = endpoint{method: "POST", needBody: true}
			h = func() error { return s.invoke(ctx, w, rs) }
		case "update":
			ep = endpoint{method: "POST", needBody: true}
			h = func() error { return s.update(ctx, w, rs, &tg) }
		case "gc":
			ep = endpoint{method: "POST"}
			h = func() error { return s.gc(ctx, w, rs) }
		case "rpcall":
			ep = endpoint{method: "POST", needBody: true}
			h = func() error { return s.rpcall(ctx, w, rs) }
		default:
			return pageError(404)
		}
		if err := check(r, &tg, ep); err != nil {
			return err
		}
		return h()
	}
	return pageError(404)
}

// check runs restapi_check: extra path segments 404, wrong method 405,
// chunked body 501, missing Content-Length 411.
func check(r *request, tg *target, ep endpoint) error {
	switch {
	case tg.rest != "":
		return pageError(404)
	case ep.method != "" && r.Method != ep.method:
		return pageError(405)
	case r.chunked:
		return pageError(501)
	case ep.needBody && r.contentLength < 0:
		return pageError(411)
	}
	return nil
}

// body reads and decodes the request body.
func (s *Server) body(w *writer) ([]byte, error) {
	r := w.req
	if r.contentLength <= 0 {
		return nil, nil
	}
	if r.expectContinue {
		if err := w.cc.write([]byte("HTTP/1.1 100 Continue\r\n\r\n")); err != nil {
			return nil, err
		}
	}
	if r.encoding == "" {
		return w.cc.readBody(r.contentLength)
	}
	b, err := w.cc.readEncodedBody(r.contentLength, r.encoding)
	var ioErr *bodyIOError
	if err != nil && !errors.As(err, &ioErr) && !errors.Is(err, errBodyTooLarge) {
		// The body arrived but does not decode.
		return nil, &statusError{code: 400, err: err}
	}
	return b, err
}

func (s *Server) healthy(ctx context.Context, w *writer) error {
	if _, err := s.body(w); err != nil {
		return err
	}
	if rs := s.ruleset(); rs != nil {
		if msg := rs.Healthy(ctx); msg != "" {
			return textError(503, msg, nil)
		}
	}
	w.reply(200, "", nil)
	return nil
}

func (s *Server) statsPage(ctx context.Context, w *writer, tg *target) error {
	q, ok := parseQuery(tg.query)
	if !ok {
		return pageError(400)
	}
	r := w.req
	if r.Method != "GET" && r.Method != "POST" {
		return pageError(405)
	}
	if _, err := s.body(w); err != nil {
		return err
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
	return nil
}

func (s *Server) metrics(ctx context.Context, w *writer) error {
	if _, err := s.body(w); err != nil {
		return err
	}
	body := s.appendMetrics(ctx, nil)
	hdr := "Cache-Control: no-store\r\nContent-Type: text/plain; version=0.0.4; charset=utf-8\r\n"
	if w.req.acceptDeflate {
		hdr += "Content-Encoding: deflate\r\n"
		body = rpc.Deflate(body)
	}
	w.reply(200, hdr, body)
	return nil
}

func (s *Server) invoke(ctx context.Context, w *writer, rs Ruleset) error {
	code, err := s.body(w)
	if err != nil {
		return err
	}
	inv, ok := rs.(Invoker)
	if !ok {
		return textError(500, msgNoCode, nil)
	}
	if err := inv.Invoke(ctx, code); err != nil {
		return textError(500, err.Error(), err)
	}
	w.reply(200, "", nil)
	return nil
}

func (s *Server) update(ctx context.Context, w *writer, rs Ruleset, tg *target) error {
	q, ok := parseQuery(tg.query)
	if !ok {
		return pageError(400)
	}
	code, err := s.body(w)
	if err != nil {
		return err
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
		return textError(500, err.Error(), err)
	}
	body := appendLabel(nil, "Time Cost")
	body = append(body, stats.FormatDuration(time.Since(t0))...)
	body = append(body, '\n')
	w.reply(200, textPlain, body)
	return nil
}

func (s *Server) gc(ctx context.Context, w *writer, rs Ruleset) error {
	if _, err := s.body(w); err != nil {
		return err
	}
	t0 := time.Now()
	var before, after Runtime
	if c, ok := rs.(Collector); ok {
		var err error
		if before, after, err = c.GC(ctx); err != nil {
			return textError(500, err.Error(), err)
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
	return nil
}

func (s *Server) rpcall(ctx context.Context, w *writer, rs Ruleset) error {
	r := w.req
	if !r.hasContentType || !rpc.IsContentType(r.contentType) {
		return pageError(400)
	}
	code, err := s.body(w)
	if err != nil {
		return err
	}
	rc, ok := rs.(RPCaller)
	if !ok {
		return textError(500, rpc.NoReturn, nil)
	}
	out, err := rc.RPCall(ctx, code)
	if err != nil {
		if ctx.Err() != nil {
			// The connection timer fired: close without an answer.
			return ctx.Err()
		}
		return textError(500, rpc.NoReturn, err)
	}
	hdr := "Content-Type: " + rpc.ContentType + "\r\n"
	if r.acceptDeflate && len(out) >= rpc.MinDeflate {
		hdr += "Content-Encoding: deflate\r\n"
		out = rpc.Deflate(out)
	}
	w.reply(200, hdr, out)
	return nil
}
