package server

import (
	"crypto/rand"
	"encoding/hex"
)

// newUUID is a random (version 4) UUID in its canonical text form, as
// uuid.NewString makes it, with one allocation: the bytes are drawn on
// the stack (crypto/rand.Read keeps them there) and formatted in place.
func newUUID() string {
	var b [36]byte
	return string(appendUUID(b[:0]))
}

// newRequestID is "req-" and a random UUID, the X-Openstack-Request-Id
// of a response.
func newRequestID() string {
	var b [4 + 36]byte
	return string(appendUUID(append(b[:0], "req-"...)))
}

// appendUUID appends a random UUID's text to b.
func appendUUID(b []byte) []byte {
	var u [16]byte
	// crypto/rand.Read never fails (it crashes the program rather than
	// return short).
	_, _ = rand.Read(u[:])
	u[6] = u[6]&0x0f | 0x40 // version 4
	u[8] = u[8]&0x3f | 0x80 // variant RFC 4122
	var text [36]byte
	hex.Encode(text[0:8], u[0:4])
	text[8] = '-'
	hex.Encode(text[9:13], u[4:6])
	text[13] = '-'
	hex.Encode(text[14:18], u[6:8])
	text[18] = '-'
	hex.Encode(text[19:23], u[8:10])
	text[23] = '-'
	hex.Encode(text[24:], u[10:])
	return append(b, text[:]...)
}
