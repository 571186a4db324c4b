// Package onewrite lets a handler send a small response in one write(2).
//
// net/http buffers a connection's output 4 KiB at a time, so a response
// whose headers and body pass 4 KiB (a 4 KiB image) leaves in two writes,
// each a system call and a loopback segment: a quarter of a small
// download's server CPU. A handler that writes its whole body at once asks
// its connection (FromContext) to Hold: the next write is kept back and
// joined to the one after it, and Release sends whatever is still kept
// before the handler returns. Nothing is ever held past Release, so a
// streamed response is never delayed.
package onewrite

import (
	"context"
	"io"
	"net"
)

// joinMax is the largest second write joined to a held one; a larger one
// follows it in a write of its own.
const joinMax = 16 << 10

// Conn is a connection whose writes a handler can join.
type Conn struct {
	net.Conn
	hold, has bool
	held      []byte
}

// Hold keeps the next write back until the one after it or Release. Only
// the goroutine serving the connection's request may call it.
func (c *Conn) Hold() { c.hold = true }

// Release sends a write still kept back and stops holding.
func (c *Conn) Release() error {
	c.hold = false
	if !c.has {
		return nil
	}
	c.has = false
	_, err := c.Conn.Write(c.held)
	c.reset()
	return err
}

// Write writes p, or keeps it back while holding (see Hold).
func (c *Conn) Write(p []byte) (int, error) {
	if !c.hold {
		return c.Conn.Write(p)
	}
	if !c.has {
		c.held, c.has = append(c.held[:0], p...), true
		return len(p), nil
	}
	c.hold, c.has = false, false
	defer c.reset()
	if len(p) <= joinMax {
		c.held = append(c.held, p...)
		if _, err := c.Conn.Write(c.held); err != nil {
			return 0, err
		}
		return len(p), nil
	}
	if _, err := c.Conn.Write(c.held); err != nil {
		return 0, err
	}
	return c.Conn.Write(p)
}

// ReadFrom sends anything held, then lets the connection it wraps read
// from r itself when it can (a TCP connection's sendfile(2) or splice(2)),
// as net/http does with an unwrapped connection.
func (c *Conn) ReadFrom(r io.Reader) (int64, error) {
	if err := c.Release(); err != nil {
		return 0, err
	}
	if rf, ok := c.Conn.(io.ReaderFrom); ok {
		return rf.ReadFrom(r)
	}
	return io.Copy(writerOnly{c.Conn}, r)
}

// writerOnly hides its writer's ReadFrom from io.Copy.
type writerOnly struct{ io.Writer }

// reset keeps the buffer for the next response unless it grew large.
func (c *Conn) reset() {
	if cap(c.held) > 2*joinMax {
		c.held = nil
	}
	c.held = c.held[:0]
}

// Listener wraps every connection ln accepts in a Conn.
func Listener(ln net.Listener) net.Listener { return listener{ln} }

type listener struct{ net.Listener }

func (l listener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &Conn{Conn: c}, nil
}

type key struct{}

// ConnContext is an http.Server's ConnContext: it puts a Conn in its
// requests' context.
func ConnContext(ctx context.Context, c net.Conn) context.Context {
	if oc, ok := c.(*Conn); ok {
		return context.WithValue(ctx, key{}, oc)
	}
	return ctx
}

// FromContext is the request's Conn, nil when it has none.
func FromContext(ctx context.Context) *Conn {
	c, _ := ctx.Value(key{}).(*Conn)
	return c
}
