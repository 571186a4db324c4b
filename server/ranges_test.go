package server

import (
	"errors"
	"testing"
)

func TestRequestRange(t *testing.T) {
	cases := []struct {
		rng, cr       string
		hasR, hasCR   bool
		size          int64
		start, length int64
		status        int // 0: ok; -1: whole image (nil range)
	}{
		{"", "", false, false, 10, 0, 0, -1},
		{"bytes=0-4", "", true, false, 10, 0, 5, 0},
		{"BYTES = 2 - 3", "", true, false, 10, 2, 2, 0},
		{"bytes=0-4junk", "", true, false, 10, 0, 5, 0}, // webob matches a prefix
		{"bytes=5-", "", true, false, 10, 5, 5, 0},
		{"bytes=-3", "", true, false, 10, 7, 3, 0},
		{"bytes=-10", "", true, false, 10, 0, 10, 0},
		{"bytes=-0", "", true, false, 10, 0, 10, 0},
		{"bytes=3-100", "", true, false, 10, 3, 7, 0},
		{"bytes=9-9", "", true, false, 10, 9, 1, 0},
		{"bytes=99999999999999999999-", "", true, false, 10, 0, 0, 416},
		{"bytes=0-99999999999999999999", "", true, false, 10, 0, 10, 0},
		{"bytes=10-", "", true, false, 10, 0, 0, 416},
		{"bytes=0-0", "", true, false, 0, 0, 0, 416},
		{"bytes=0-1,3-4", "", true, false, 10, 0, 0, 400},
		{",", "", true, false, 10, 0, 0, 400},
		{"bytes=-", "", true, false, 10, 0, 0, 416},
		{"bytes=abc", "", true, false, 10, 0, 0, 416},
		{"bytes=4-2", "", true, false, 10, 0, 0, 416},
		{"items=0-1", "", true, false, 10, 0, 0, 416},
		{"", "", true, false, 10, 0, 0, 416},
		{"bytes=0-1", "bytes 5-6/*", true, true, 10, 0, 2, 0}, // Range wins
		{"", "bytes 1-3/*", false, true, 10, 1, 3, 0},
		{"", "bytes 1-3/10", false, true, 10, 1, 3, 0},
		{"", "bytes 1-3/3", false, true, 10, 0, 0, 416},
		{"", "bytes 0-20/*", false, true, 10, 0, 0, 416},
		{"", "bytes 10-12/*", false, true, 10, 0, 0, 416},
		{"", "bytes 3-1/*", false, true, 10, 0, 0, 416},
		{"", "bytes */10", false, true, 10, 0, 0, 416},
		{"", "items 1-3/*", false, true, 10, 0, 0, 416},
		{"", "bytes 1-3", false, true, 10, 0, 0, 416},
		{"", "", false, true, 10, 0, 0, 416},
		{"bytes=-3", "", true, false, 0, 0, 0, 416},       // Glance: 206 of nothing
		{"", "bytes 1-3/*junk", false, true, 10, 1, 3, 0}, // webob matches a prefix
		{"", "BYTES 1-3/*", false, true, 10, 0, 0, 416},   // but case-sensitively
		{"", "bytes  1-3/*", false, true, 10, 0, 0, 416},  // with one space
	}
	for _, c := range cases {
		r, err := requestRange(c.rng, c.cr, c.hasR, c.hasCR, c.size)
		var re *rangeError
		switch {
		case c.status == -1:
			if r != nil || err != nil {
				t.Errorf("%q/%q: %v %v, want whole image", c.rng, c.cr, r, err)
			}
		case c.status == 0:
			if err != nil || r == nil || r.Start != c.start || r.Length != c.length {
				t.Errorf("%q/%q: %v %v, want %d+%d", c.rng, c.cr, r, err, c.start, c.length)
			}
		case !errors.As(err, &re) || re.Status != c.status:
			t.Errorf("%q/%q: %v %v, want status %d", c.rng, c.cr, r, err, c.status)
		}
	}
}

// FuzzRequestRange: never a panic, and a range is always inside the image.
func FuzzRequestRange(f *testing.F) {
	for _, s := range []string{"bytes=0-4", "bytes=-3", "bytes=5-", "bytes=0-1,2-3", "bytes 1-3/*", "bytes 1-3/10", "bytes=-", "bytes */5"} {
		f.Add(s, s, true, false, int64(10))
		f.Add(s, s, false, true, int64(10))
	}
	f.Fuzz(func(t *testing.T, rng, cr string, hasR, hasCR bool, size int64) {
		if size < 0 {
			size = -(size + 1)
		}
		r, err := requestRange(rng, cr, hasR, hasCR, size)
		if err != nil {
			var re *rangeError
			if !errors.As(err, &re) || (re.Status != 400 && re.Status != 416) || r != nil {
				t.Fatalf("%q/%q: %v %v", rng, cr, r, err)
			}
			return
		}
		if r == nil {
			if hasR || hasCR {
				t.Fatalf("%q/%q: a range header gave the whole image", rng, cr)
			}
			return
		}
		if r.Start < 0 || r.Length < 1 || r.Start > size-r.Length {
			t.Fatalf("%q/%q size %d: range %+v outside the image", rng, cr, size, *r)
		}
	})
}
