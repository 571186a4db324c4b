package main

import (
	"testing"

	"github.com/oslorego/oslorego/internal/testenv"
)

// TestMain stops the keystone peer if a test of this binary started one.
func TestMain(m *testing.M) { testenv.Main(m) }
