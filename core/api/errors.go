package api

import (
	"errors"

	"github.com/neosocksd-go/neosocksd/core/proto/http"
)

// statusError is a failure with the response it gets: the HTML error page
// of code, or with text set a text/plain body msg (api.md §1.3) after the
// header lines in header.
type statusError struct {
	code   int
	text   bool
	msg    string
	header string // "Name: value\r\n"…, text answers only
	err    error  // the cause, for the log; nil for a plain refusal
}

func (e *statusError) Error() string {
	switch {
	case e.err != nil:
		return e.err.Error()
	case e.text:
		return e.msg
	}
	return "api: " + http.Reason(e.code)
}

func (e *statusError) Unwrap() error { return e.err }

// pageError answers code with the HTML error page.
func pageError(code int) error { return &statusError{code: code} }

// textError answers code with msg as a text/plain body; cause, if any, is
// what the log shows.
func textError(code int, msg string, cause error) error {
	return &statusError{code: code, text: true, msg: msg, err: cause}
}

// statusOf maps an error of a request to its answer. A zero code means
// the connection closes without an answer: I/O errors (a body that did
// not arrive included), the connection timer, shutdown.
func statusOf(err error) statusError {
	var se *statusError
	switch {
	case errors.As(err, &se):
		return *se
	case errors.Is(err, http.ErrTooLarge), errors.Is(err, http.ErrMalformed):
		// A request head that does not parse.
		return statusError{code: http.Status(err)}
	case errors.Is(err, errBodyTooLarge):
		return statusError{code: 413}
	}
	return statusError{}
}

// fail answers err: the one place where an error of the API becomes a
// response. The answer closes the connection (an error page, or a text
// body with status 400 or above). Without an answer the connection is
// closed and err is kept in w.err. Either way serveOne logs err once, in
// the request's log line.
func (s *Server) fail(w *writer, err error) {
	w.failure = err
	a := statusOf(err)
	switch {
	case a.code == 0:
		w.err, w.close = err, true
	case a.text:
		w.errmsg(a.code, a.header, a.msg)
	default:
		w.page(a.code)
	}
}
