package api

import (
	"context"
	"net"
	"sync"
	"testing"
	"time"
)

// expiryFirstConn makes the race of a cancellation with the next request
// come out the bad way every time: a deadline in the future (the
// connection timer of serveOne) is set only after a deadline in the past
// (the expiry ServeConn sets when its context is done).
type expiryFirstConn struct {
	net.Conn
	once    sync.Once
	expired chan struct{}
}

func (c *expiryFirstConn) SetDeadline(t time.Time) error {
	if t.Before(time.Now()) {
		err := c.Conn.SetDeadline(t)
		c.once.Do(func() { close(c.expired) })
		return err
	}
	select {
	case <-c.expired:
	case <-time.After(10 * time.Second):
	}
	return c.Conn.SetDeadline(t)
}

// TestServeConnCancelledBeforeRequest: a connection whose context is done
// before its next request is read ends at once, however long the
// connection timer: the timer set for the request must not undo the
// expiry that the cancellation set.
func TestServeConnCancelledBeforeRequest(t *testing.T) {
	s := &Server{Timeout: time.Hour}
	srv, cli := net.Pipe()
	defer cli.Close()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	done := make(chan struct{})
	go func() {
		defer close(done)
		s.ServeConn(ctx, &expiryFirstConn{Conn: srv, expired: make(chan struct{})})
	}()
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		cli.Close()
		<-done
		t.Fatal("ServeConn kept a cancelled connection open")
	}
}
