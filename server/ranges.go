// Ported from WebOb 1.8.6 webob/byterange.py (MIT License) and Glance 25.1.0 glance/common/wsgi.py (Apache-2.0); see NOTICE.

package server

import (
	"errors"
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
)

// byteRange is the part of an image to send: Start and Length bytes.
type byteRange struct {
	Start, Length int64
}

// rangeError is a Range or Content-Range request header that Glance
// refuses: Status is 400 (several ranges) or 416.
type rangeError struct {
	Status  int
	Message string
}

func (e *rangeError) Error() string { return e.Message }

// webob's Range.parse: anchored at the start only, case-insensitive.
var rangeRx = regexp.MustCompile(`(?i)^bytes *= *(\d*) *- *(\d*)`)

// requestRange reads the Range header, or failing that the legacy
// Content-Range request header that Glance still honours, for an image
// of size bytes. It returns nil for a whole-image request. The rules and
// messages follow Glance Zed (glance/common/wsgi.py get_range_from_request
// and the image_data serializer); where Glance would send a body shorter
// than its Content-Length (an explicit length beyond the image) we answer
// 416 instead.
func requestRange(rangeHdr, contentRange string, hasRange, hasContentRange bool, size int64) (*byteRange, *rangeError) {
	if hasRange {
		if strings.Contains(rangeHdr, ",") {
			return nil, &rangeError{400, "Requests with multiple ranges are not supported in Glance. You may make multiple single-range requests instead."}
		}
		m := rangeRx.FindStringSubmatch(rangeHdr)
		if m == nil || (m[1] == "" && m[2] == "") {
			return nil, invalidRange("Invalid Range header.")
		}
		if m[1] == "" { // suffix: the last N bytes
			n := atoi(m[2])
			if n >= size || n == 0 {
				// webob turns "-0" into start 0: the whole image.
				if err := checkStart(0, size, "Range"); err != nil {
					return nil, err
				}
				return &byteRange{0, size}, nil
			}
			return &byteRange{size - n, n}, nil
		}
		start := atoi(m[1])
		if err := checkStart(start, size, "Range"); err != nil {
			return nil, err
		}
		if m[2] == "" {
			return &byteRange{start, size - start}, nil
		}
		last := atoi(m[2])
		if last < start {
			return nil, invalidRange("Invalid Range header.")
		}
		if last >= size {
			last = size - 1
		}
		return &byteRange{start, last - start + 1}, nil
	}
	if !hasContentRange {
		return nil, nil
	}
	first, last, ok := parseContentRange(contentRange)
	if !ok {
		return nil, invalidRange("Invalid Content-Range header.")
	}
	if last >= size {
		return nil, invalidRange(fmt.Sprintf("Invalid stop position in Content-Range header. The stop position MUST be in the inclusive range [0, %d].", size-1))
	}
	if err := checkStart(first, size, "Content-Range"); err != nil {
		return nil, err
	}
	return &byteRange{first, last - first + 1}, nil
}

func checkStart(start, size int64, header string) *rangeError {
	if start >= size {
		return invalidRange(fmt.Sprintf("Invalid start position in %s header. Start position MUST be in the inclusive range [0, %d].", header, size-1))
	}
	return nil
}

func invalidRange(msg string) *rangeError {
	return &rangeError{416, "The Range requested is not available. " + msg}
}

// webob's ContentRange.parse: anchored at the start only.
var contentRangeRx = regexp.MustCompile(`^bytes (?:(\d+)-(\d+)|[*])/(?:(\d+)|[*])`)

// parseContentRange is webob's ContentRange.parse with its validity check
// for "bytes F-L/N" and "bytes F-L/*"; "bytes */N" has no range to send
// and is refused (Glance fails on it with a TypeError).
func parseContentRange(v string) (first, last int64, ok bool) {
	m := contentRangeRx.FindStringSubmatch(v)
	if m == nil || m[1] == "" {
		return 0, 0, false
	}
	first, last = atoi(m[1]), atoi(m[2])
	if first > last {
		return 0, 0, false
	}
	if m[3] != "" && last >= atoi(m[3]) {
		return 0, 0, false
	}
	return first, last, true
}

// atoi parses decimal digits; numbers beyond int64 saturate, which gives
// the same answers as Python's unbounded ints for every comparison here.
func atoi(s string) int64 {
	n, err := strconv.ParseInt(s, 10, 64)
	if errors.Is(err, strconv.ErrRange) {
		return math.MaxInt64
	}
	return n
}
