package train

import (
	"testing"

	"github.com/stretchr/testify/require"
	"github.com/zoomr-go/zoomr/model"
)

// testModel builds a small random model on a training backend, in the training layout.
func testModel(t testing.TB, spec model.RandomSpec) *model.Model {
	t.Helper()
	dir := t.TempDir()
	_, err := model.WriteRandom(dir, spec)
	require.NoError(t, err)
	b, err := NewBackend()
	require.NoError(t, err)
	m, err := model.Load(t.Context(), dir, model.WithBackend(b), model.WithTrainingLayout())
	require.NoError(t, err)
	return m
}
