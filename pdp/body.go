package pdp

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"strconv"

	"github.com/labstack/echo/v4"
)

// bodyBuffer holds one request's body while it is decoded. Server.bodies
// pools them, so that a request reads into a buffer already grown to a
// body's size rather than growing a new one.
type bodyBuffer struct {
	bytes.Buffer
	limit io.LimitedReader
}

// maxPooledBody bounds the buffers kept for reuse: one odd large body
// does not stay allocated in the pool.
const maxPooledBody = 64 << 10

// readBody reads the request body up to MaxBody into a buffer of the
// pool, which the caller gives back with release once it has decoded it
// (the decoders copy what they keep); an error comes with its status and
// no buffer. A body declared larger than MaxBody is refused unread; a
// declared length is otherwise only a hint, the limit is what is read.
func (s *Server) readBody(c echo.Context) (*bodyBuffer, int, error) {
	r := c.Request()
	if r.ContentLength > s.cfg.MaxBody {
		return nil, http.StatusRequestEntityTooLarge, s.tooLarge()
	}
	b, _ := s.bodies.Get().(*bodyBuffer)
	if b == nil {
		b = new(bodyBuffer)
	}
	b.Reset()
	if r.ContentLength > 0 {
		// ReadFrom wants MinRead bytes free before each read, the one
		// that finds the end included. Only up to what the pool keeps:
		// a declared length is not yet a body.
		b.Grow(int(min(r.ContentLength, maxPooledBody)) + bytes.MinRead)
	}
	if r.Body != nil {
		b.limit = io.LimitedReader{R: r.Body, N: s.cfg.MaxBody + 1}
		_, err := b.ReadFrom(&b.limit)
		b.limit.R = nil // not kept by the pool
		if err != nil {
			s.release(b)
			return nil, http.StatusBadRequest, fmt.Errorf("%w: reading the body: %v", errBadRequest, err)
		}
	}
	if int64(b.Len()) > s.cfg.MaxBody {
		s.release(b)
		return nil, http.StatusRequestEntityTooLarge, s.tooLarge()
	}
	return b, 0, nil
}

func (s *Server) tooLarge() error {
	return fmt.Errorf("%w: the body is larger than %d bytes", errBadRequest, s.cfg.MaxBody)
}

// release gives b back to the pool; its bytes must no longer be used.
func (s *Server) release(b *bodyBuffer) {
	if b.Cap() > maxPooledBody {
		return
	}
	s.bodies.Put(b)
}

// opaResult is oslo.policy.opa's answer as c.JSON writes it for
// {"decision_id": id, "result": allowed}: keys sorted, a newline after.
func opaResult(id string, allowed bool) []byte {
	b := make([]byte, 0, len(id)+40)
	b = append(b, `{"decision_id":`...)
	b = strconv.AppendQuote(b, id)
	b = append(b, `,"result":`...)
	b = strconv.AppendBool(b, allowed)
	return append(b, "}\n"...)
}
