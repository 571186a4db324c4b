package main

import (
	"fmt"
	"os"
	"testing"

	"github.com/oslorego/oslorego/internal/testenv"
)

// TestMain stops the keystone peer if a test of this binary started one
// (testenv.Keystone reuses a running one, as .ci/run starts).
func TestMain(m *testing.M) {
	code := m.Run()
	if err := testenv.StopKeystone(); err != nil {
		fmt.Fprintln(os.Stderr, "stopping the keystone peer:", err)
		code = max(code, 1)
	}
	os.Exit(code)
}
