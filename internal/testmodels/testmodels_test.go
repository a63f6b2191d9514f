package testmodels

import (
	"encoding/binary"
	"io"
	"os"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestAbsentModelSkipsWithTheFetchCommand(t *testing.T) {
	t.Setenv("XDG_CACHE_HOME", t.TempDir())
	for _, name := range Names() {
		_, err := Path(name)
		require.ErrorIs(t, err, ErrNotFetched)
		assert.Contains(t, err.Error(), "go run ./examples/fetch-model "+name)

		reached := false
		ok := t.Run(name, func(t *testing.T) {
			Require(t, name)
			reached = true
		})
		assert.True(t, ok)
		assert.False(t, reached, "Require skips when the model is absent")
	}
}

func TestUnknownModel(t *testing.T) {
	_, err := Path("gpt-17")
	require.ErrorIs(t, err, ErrUnknownModel)
	_, err = Fetch(t.Context(), "gpt-17", nil)
	require.ErrorIs(t, err, ErrUnknownModel)
}

// The fetched SmolLM2 file is a GGUF v3 (llama.cpp's current format).
func TestSmolLM2IsGGUF(t *testing.T) {
	path := Require(t, "smollm2")
	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	var header struct {
		Magic   [4]byte
		Version uint32
		Tensors uint64
	}
	require.NoError(t, binary.Read(io.LimitReader(f, 16), binary.LittleEndian, &header))
	assert.Equal(t, "GGUF", string(header.Magic[:]))
	assert.Equal(t, uint32(3), header.Version)
	assert.Equal(t, uint64(272), header.Tensors, "SmolLM2-135M: 30 layers × 9 tensors + embedding + output norm")
}
