package onewrite

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// recorder is a connection that records its writes.
type recorder struct {
	net.Conn
	writes [][]byte
	err    error
}

func (r *recorder) Write(p []byte) (int, error) {
	if r.err != nil {
		return 0, r.err
	}
	r.writes = append(r.writes, append([]byte(nil), p...))
	return len(p), nil
}

func TestHoldJoinsTwoWrites(t *testing.T) {
	r := &recorder{}
	c := &Conn{Conn: r}
	c.Write([]byte("a"))
	c.Hold()
	if n, err := c.Write([]byte("bb")); n != 2 || err != nil || len(r.writes) != 1 {
		t.Fatalf("held write: %d %v, %d writes", n, err, len(r.writes))
	}
	if n, err := c.Write([]byte("ccc")); n != 3 || err != nil {
		t.Fatalf("joined write: %d %v", n, err)
	}
	c.Write([]byte("d")) // no longer holding
	if err := c.Release(); err != nil {
		t.Fatal(err)
	}
	want := []string{"a", "bbccc", "d"}
	if got := strs(r.writes); strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("writes %q, want %q", got, want)
	}
}

// Release sends a lone held write; a large second write follows the
// held one rather than being copied.
func TestReleaseAndLargeWrites(t *testing.T) {
	r := &recorder{}
	c := &Conn{Conn: r}
	c.Hold()
	c.Write([]byte("x"))
	if len(r.writes) != 0 {
		t.Fatal("a held write was sent")
	}
	if err := c.Release(); err != nil || strings.Join(strs(r.writes), ",") != "x" {
		t.Fatalf("release: %v %q", err, strs(r.writes))
	}
	if err := c.Release(); err != nil || len(r.writes) != 1 {
		t.Fatal("a second release wrote again")
	}
	big := bytes.Repeat([]byte("y"), joinMax+1)
	c.Hold()
	c.Write([]byte("h"))
	if n, err := c.Write(big); n != len(big) || err != nil {
		t.Fatalf("large write: %d %v", n, err)
	}
	if len(r.writes) != 3 || string(r.writes[1]) != "h" || len(r.writes[2]) != len(big) {
		t.Fatalf("writes %d", len(r.writes))
	}
}

// A failing connection fails the joined write, and Release's.
func TestErrors(t *testing.T) {
	boom := errors.New("boom")
	r := &recorder{err: boom}
	c := &Conn{Conn: r}
	c.Hold()
	c.Write([]byte("a"))
	if _, err := c.Write([]byte("b")); !errors.Is(err, boom) {
		t.Fatalf("joined write: %v", err)
	}
	c.Hold()
	c.Write([]byte("a"))
	if err := c.Release(); !errors.Is(err, boom) {
		t.Fatalf("release: %v", err)
	}
}

// Through net/http: a 4 KiB body written at once, flushed and released,
// leaves in one write with its headers; the client reads it whole, and
// the connection is reused for a second request.
func TestOneWriteThroughNetHTTP(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	rec := &recordingListener{Listener: ln, conns: make(chan *recorder, 4)}
	body := bytes.Repeat([]byte("z"), 4096)
	hs := &http.Server{ConnContext: ConnContext, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		oc := FromContext(r.Context())
		if oc == nil {
			t.Error("no Conn in the request's context")
			return
		}
		w.Header().Set("Content-Length", "4096")
		oc.Hold()
		w.Write(body)
		http.NewResponseController(w).Flush()
		if err := oc.Release(); err != nil {
			t.Error(err)
		}
	})}
	go hs.Serve(Listener(rec))
	defer hs.Shutdown(context.Background())
	for range 2 {
		resp, err := http.Get("http://" + ln.Addr().String() + "/")
		if err != nil {
			t.Fatal(err)
		}
		got, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil || !bytes.Equal(got, body) {
			t.Fatalf("body: %d bytes, %v", len(got), err)
		}
	}
	r := <-rec.conns
	if len(rec.conns) != 0 {
		t.Fatal("the second request took a new connection")
	}
	hs.Close()
	if len(r.writes) != 2 {
		t.Fatalf("%d writes for two responses, want one each", len(r.writes))
	}
	for _, w := range r.writes {
		if !bytes.HasSuffix(w, body) || !bytes.HasPrefix(w, []byte("HTTP/1.1 200")) {
			t.Fatalf("a write is not a whole response: %d bytes", len(w))
		}
	}
}

// recordingListener gives each connection a recorder that passes writes on.
type recordingListener struct {
	net.Listener
	conns chan *recorder
}

func (l *recordingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	r := &recorder{Conn: c}
	l.conns <- r
	return passOn{r}, nil
}

// passOn records, then writes to the real connection.
type passOn struct{ r *recorder }

func (p passOn) Read(b []byte) (int, error)         { return p.r.Conn.Read(b) }
func (p passOn) Close() error                       { return p.r.Conn.Close() }
func (p passOn) LocalAddr() net.Addr                { return p.r.Conn.LocalAddr() }
func (p passOn) RemoteAddr() net.Addr               { return p.r.Conn.RemoteAddr() }
func (p passOn) SetDeadline(t time.Time) error      { return p.r.Conn.SetDeadline(t) }
func (p passOn) SetReadDeadline(t time.Time) error  { return p.r.Conn.SetReadDeadline(t) }
func (p passOn) SetWriteDeadline(t time.Time) error { return p.r.Conn.SetWriteDeadline(t) }
func (p passOn) Write(b []byte) (int, error) {
	p.r.Write(b)
	return p.r.Conn.Write(b)
}

func strs(bs [][]byte) []string {
	out := make([]string, len(bs))
	for i, b := range bs {
		out[i] = string(b)
	}
	return out
}

// readerFrom is a recorder that reads from a reader itself.
type readerFrom struct {
	recorder
	from int
}

func (r *readerFrom) ReadFrom(src io.Reader) (int64, error) {
	r.from++
	b, err := io.ReadAll(src)
	r.writes = append(r.writes, b)
	return int64(len(b)), err
}

// ReadFrom sends what is held first, then leaves the copy to the wrapped
// connection when it can (sendfile), else copies.
func TestReadFrom(t *testing.T) {
	rf := &readerFrom{}
	c := &Conn{Conn: rf}
	c.Hold()
	c.Write([]byte("head"))
	if n, err := c.ReadFrom(strings.NewReader("body")); n != 4 || err != nil || rf.from != 1 {
		t.Fatalf("ReadFrom: %d %v, delegated %d times", n, err, rf.from)
	}
	if got := strings.Join(strs(rf.writes), ","); got != "head,body" {
		t.Fatalf("writes %q", got)
	}
	r := &recorder{}
	c = &Conn{Conn: r}
	if n, err := c.ReadFrom(strings.NewReader("copied")); n != 6 || err != nil || strings.Join(strs(r.writes), "") != "copied" {
		t.Fatalf("copy: %d %v %q", n, err, strs(r.writes))
	}
}
