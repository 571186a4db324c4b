// Follows Glance 25.1.0 glance/api/v2/image_data.py download, and Glance Queens' v1 API (Apache-2.0); see NOTICE.

package server

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"time"

	"github.com/oslorego/oslorego/imagestore"
	"github.com/oslorego/oslorego/internal/onewrite"
)

// downloadV2 is GET /v2/images/{id}/file, after download_image allowed it:
// Range (after the policy, as Glance), 204 without data, then the bytes.
func (s *Server) downloadV2(c *call) error {
	req := c.Request()
	size := dataSize(c.img)
	d, err := s.source.Open(req.Context(), c.caller(), c.img, DataRequest{Header: req.Header})
	if errors.Is(err, imagestore.ErrNoData) {
		// Glance: no active location → 204, Range or not.
		return c.NoContent(http.StatusNoContent)
	}
	if err != nil {
		return s.openFailed(c, err)
	}
	if d.Answer != nil {
		return s.relay(c, d.Answer, false)
	}
	if d.File != nil {
		defer d.File.Close()
	}
	_, hasRange := req.Header["Range"]
	_, hasCR := req.Header["Content-Range"]
	// requestRange's only error is a *rangeError: every failure to read
	// the range is a refusal with its status, never the whole image.
	rng, rerr := requestRange(req.Header.Get("Range"), req.Header.Get("Content-Range"), hasRange, hasCR, size)
	if rerr != nil {
		c.rec.Reason = rerr.Message
		return writeError(c, rerr.Status, rerr.Message)
	}
	h := c.Response().Header()
	h.Set(echoContentType, "application/octet-stream")
	if c.img.Checksum != nil {
		h.Set("Content-MD5", *c.img.Checksum)
	}
	if rng == nil {
		return s.sendData(c, d, http.StatusOK, 0, size)
	}
	h.Set("Content-Range", fmt.Sprintf("bytes %d-%d/%d", rng.Start, rng.Start+rng.Length-1, size))
	return s.sendData(c, d, http.StatusPartialContent, rng.Start, rng.Length)
}

// downloadV1 is GET /v1/images/{id} (Glance ≤ Queens), after
// download_image allowed it: only active images, data with the
// x-image-meta-* headers, no Range.
func (s *Server) downloadV1(c *call) error {
	if c.img.Status == imagestore.StatusDeactivated {
		// Glance v1 refuses deactivated data to admins too.
		c.rec.Reason = "image is deactivated"
		return writeError(c, http.StatusForbidden, fmt.Sprintf("Image %s is deactivated", c.img.ID))
	}
	if c.img.Status != imagestore.StatusActive {
		msg := fmt.Sprintf("Image %s is not active", c.img.ID)
		c.rec.Reason = msg
		return writeError(c, http.StatusNotFound, msg)
	}
	if err := s.v1Headers(c); err != nil {
		return err
	}
	size := dataSize(c.img)
	c.Response().Header().Set(echoContentType, "application/octet-stream")
	if size == 0 {
		c.Response().Header().Set("Content-Length", "0")
		c.Response().WriteHeader(http.StatusOK)
		return nil
	}
	d, err := s.source.Open(c.Request().Context(), c.caller(), c.img, DataRequest{})
	if err == nil && d.Answer != nil && d.Answer.StatusCode == http.StatusNoContent {
		d.Answer.Body.Close()
		err = imagestore.ErrNoData
	}
	if errors.Is(err, imagestore.ErrNoData) {
		// v1 answers 404 where v2 answers 204.
		c.Response().Header().Del(echoContentType)
		return writeError(c, http.StatusNotFound, fmt.Sprintf("Data for image %s not found", c.img.ID))
	}
	if err != nil {
		return s.openFailed(c, err)
	}
	if d.Answer != nil {
		return s.relay(c, d.Answer, true)
	}
	if d.File != nil {
		defer d.File.Close()
	}
	return s.sendData(c, d, http.StatusOK, 0, size)
}

// headV1 is HEAD /v1/images/{id}: the metadata headers, any status.
func (s *Server) headV1(c *call) error {
	if err := s.v1Headers(c); err != nil {
		return err
	}
	size := dataSize(c.img)
	c.Response().Header().Set("Content-Length", strconv.FormatInt(size, 10))
	c.Response().WriteHeader(http.StatusOK)
	return nil
}

// v1Headers sets Glance v1's x-image-meta-* headers (never a location)
// and x-image-meta-property-* for the properties the caller may read.
func (s *Server) v1Headers(c *call) error {
	h := c.Response().Header()
	for k, vs := range c.img.V1Headers(s.readable(c, c.img)) {
		h[k] = vs
	}
	return nil
}

// smallBody is the size up to which a body is copied through a buffer
// instead of sendfile: for a few KiB, sendfile's extra system calls cost
// more than the copy.
const smallBody = 64 << 10

// progressChunk is the most a response writes under one write deadline:
// a reader must take each chunk within Config.WriteProgressTimeout.
const progressChunk = 256 << 10

// sendData writes length bytes of d's data (Bytes or File) from offset.
func (s *Server) sendData(c *call, d Data, status int, offset, length int64) error {
	if d.File != nil {
		return s.sendFile(c, d.File, status, offset, length)
	}
	if offset < 0 || length < 0 || offset+length > int64(len(d.Bytes)) {
		return fmt.Errorf("sending image %s: bytes %d+%d of %d in memory", c.img.ID, offset, length, len(d.Bytes))
	}
	resp := c.Response()
	resp.Header().Set("Content-Length", strconv.FormatInt(length, 10))
	resp.WriteHeader(status)
	if c.Request().Method == http.MethodHead {
		return nil
	}
	// Headers and body in one write(2) where the connection allows it
	// (onewrite): the body goes in one Write, flushed before Release.
	oc := onewrite.FromContext(c.Request().Context())
	if oc != nil {
		oc.Hold()
		// Never left holding, even by a panic: the connection's next
		// response would wait for a write that may not come.
		defer oc.Release()
	}
	// The Writer itself: sent counts the bytes (echo's Write would too).
	n, err := resp.Writer.Write(d.Bytes[offset : offset+length])
	if oc != nil {
		if err == nil {
			err = http.NewResponseController(resp.Writer).Flush()
		}
		if rerr := oc.Release(); err == nil {
			err = rerr
		}
	}
	return s.sent(c, int64(n), length, err)
}

// sendFile writes length bytes of f from offset. Bodies above smallBody go
// from the file to the socket by io.CopyN onto the net/http writer, one
// progressChunk at a time so that the write deadline moves on only while
// the reader takes the data: sendfile(2) on Linux when net/http reaches
// the TCP connection (not behind serve's connection bound), a buffer else.
// Either way the data is streamed, never read whole into memory.
func (s *Server) sendFile(c *call, f *os.File, status int, offset, length int64) error {
	resp := c.Response()
	resp.Header().Set("Content-Length", strconv.FormatInt(length, 10))
	var n int64
	var err error
	if length <= smallBody {
		resp.WriteHeader(status)
		if c.Request().Method == http.MethodHead {
			return nil
		}
		buf := s.buffers.Get().(*[]byte)
		n, err = io.CopyBuffer(writerOnly{resp.Writer}, io.NewSectionReader(f, offset, length), *buf)
		s.buffers.Put(buf)
	} else {
		if _, err := f.Seek(offset, io.SeekStart); err != nil {
			return fmt.Errorf("seeking image %s: %w", c.img.ID, err)
		}
		resp.WriteHeader(status)
		if c.Request().Method == http.MethodHead {
			return nil
		}
		n, err = s.copyProgress(c, f, length)
	}
	return s.sent(c, n, length, err)
}

// sent accounts for n of length bytes sent, with the error that ended
// the sending.
func (s *Server) sent(c *call, n, length int64, err error) error {
	c.Response().Size += n
	s.metrics.bytesBy.with(s.routeLabel(c)).Add(float64(n))
	if err != nil {
		c.rec.Reason = "transfer interrupted"
		return fmt.Errorf("sending image %s (%d of %d bytes): %w", c.img.ID, n, length, err)
	}
	return nil
}

// copyProgress copies r to the response, length bytes (-1: up to r's
// end), at most progressChunk under each write deadline so that the
// deadline moves on only while the reader takes the data. A body shorter
// than length is an error: the answer is broken, never short.
func (s *Server) copyProgress(c *call, r io.Reader, length int64) (int64, error) {
	resp := c.Response()
	rc := http.NewResponseController(resp)
	var n int64
	for length < 0 || n < length {
		if d := s.cfg.WriteProgressTimeout; d > 0 {
			if err := rc.SetWriteDeadline(time.Now().Add(d)); err != nil && !errors.Is(err, http.ErrNotSupported) {
				return n, err
			}
		}
		chunk := int64(progressChunk)
		if length >= 0 {
			chunk = min(chunk, length-n)
		}
		k, err := io.CopyN(resp.Writer, r, chunk)
		n += k
		if errors.Is(err, io.EOF) && length < 0 {
			return n, nil
		}
		if err != nil {
			if errors.Is(err, io.EOF) {
				err = io.ErrUnexpectedEOF
			}
			return n, err
		}
	}
	return n, nil
}

// writerOnly hides the ResponseWriter's ReadFrom, so that io.CopyBuffer
// uses the buffer rather than sendfile.
type writerOnly struct{ io.Writer }

const echoContentType = "Content-Type"

// dataSize is the image's size, 0 for an image without data.
func dataSize(img imagestore.Image) int64 {
	if img.Size == nil {
		return 0
	}
	return *img.Size
}
