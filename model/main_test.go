package model

import (
	"os"
	"testing"
)

// TestMain removes the GGUF golden models the tests built (ggufGoldenBuilt) once they have all run.
func TestMain(m *testing.M) {
	code := m.Run()
	removeGGUFGoldenBuilds()
	os.Exit(code)
}
